"""How fresh a figure is: the latest event it reflects, and whether a recalculation of its round
is queued or running (its counters are about to be replaced).

Two small reads per answer: the newest recalculation job of the round that has not finished
(`recalculation_job.round_id` is indexed), and, for figures that are not a unit's own counters
(restated, as of a date), the last change of the round's province counters, which every applied
event of the round moves (`apply` adds to every unit of the path).
"""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures.models import UnitFigure, UnitRef
from indicators.figures.schemas import Freshness, RecalculationMark, UnitFigures
from indicators.recalculation.models import JobStatus, RecalculationJob

UNFINISHED = (JobStatus.queued, JobStatus.running)


async def mark(session: AsyncSession, figures: Iterable[UnitFigures]) -> None:
    """Set `freshness` on each of these figures (one or two reads per round among them)."""
    by_round: dict[UUID, list[UnitFigures]] = {}
    for item in figures:
        by_round.setdefault(item.round_id, []).append(item)
    for round_id, items in by_round.items():
        recalculation = await unfinished_recalculation(session, round_id)
        round_latest: datetime | None = None
        if any(item.as_of is None for item in items):
            round_latest = await latest_change(session, round_id)
        for item in items:
            item.freshness = Freshness(
                reflects_events_until=item.as_of or round_latest,
                recalculation=recalculation,
            )


async def unfinished_recalculation(
    session: AsyncSession, round_id: UUID
) -> RecalculationMark | None:
    statement = (
        select(RecalculationJob)
        .where(
            RecalculationJob.round_id == round_id,
            col(RecalculationJob.status).in_(UNFINISHED),
        )
        .order_by(col(RecalculationJob.requested_at).desc())
        .limit(1)
    )
    job = (await session.exec(statement)).first()
    if job is None:
        return None
    progress = round(100 * job.done / job.total, 1) if job.total else 0.0
    return RecalculationMark(
        id=job.id, status=job.status.value, progress_percent=progress, requested_at=job.requested_at
    )


async def latest_change(session: AsyncSession, round_id: UUID) -> datetime | None:
    """When an event last moved any counter of the round (its provinces' counters move with
    every one)."""
    statement = (
        select(func.max(UnitFigure.updated_at))
        .join(
            UnitRef,
            (col(UnitRef.round_id) == UnitFigure.round_id)
            & (col(UnitRef.unit_code) == UnitFigure.unit_code),
        )
        .where(UnitFigure.round_id == round_id, UnitRef.level == "province")
    )
    latest: datetime | None = (await session.exec(statement)).one()
    return latest
