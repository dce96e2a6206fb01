"""Unit counters: applied incrementally per event, read back as figures with rates."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures.counts import (
    COMMUNES_MISSING_POPULATION,
    Counts,
    missing_population_flag,
)
from indicators.figures.models import RoundRef, UnitFigure, UnitRef
from kit.db import insert_for, table_of, utc_now

LEVELS = ("province", "district", "commune")


async def apply(
    session: AsyncSession, round_id: UUID, unit_path: Sequence[str], delta: Counts
) -> None:
    """Add `delta` to the counters of every unit on the path (province, district, commune)."""
    if not delta:
        return
    await _add(session, round_id, unit_path, delta)
    await _refresh_missing_population(session, round_id, unit_path)


async def remember_units(session: AsyncSession, unit_path: Sequence[str]) -> None:
    """Record the path's units and their parents, learned from an event."""
    table = table_of(UnitRef)
    rows = [
        {
            "unit_code": code,
            "level": LEVELS[depth],
            "parent_code": unit_path[depth - 1] if depth else None,
        }
        for depth, code in enumerate(unit_path)
    ]
    await session.exec(insert_for(session, table).values(rows).on_conflict_do_nothing())


async def remember_round(
    session: AsyncSession, round_id: UUID, *, standard_id: str, year: int
) -> None:
    table = table_of(RoundRef)
    await session.exec(
        insert_for(session, table)
        .values(round_id=round_id, standard_id=standard_id, year=year)
        .on_conflict_do_nothing()
    )


async def get_round(session: AsyncSession, round_id: UUID) -> RoundRef | None:
    return await session.get(RoundRef, round_id)


async def read(
    session: AsyncSession, round_id: UUID, unit_code: str
) -> tuple[dict[str, int], datetime | None]:
    """A unit's counters in a round and when they last changed."""
    statement = select(UnitFigure.metric, UnitFigure.value, UnitFigure.updated_at).where(
        UnitFigure.round_id == round_id, UnitFigure.unit_code == unit_code
    )
    rows = (await session.exec(statement)).all()
    as_of = max((updated_at for _, _, updated_at in rows), default=None)
    return {metric: value for metric, value, _ in rows}, as_of


async def children(session: AsyncSession, unit_code: str) -> Sequence[str]:
    statement = select(UnitRef.unit_code).where(UnitRef.parent_code == unit_code)
    return (await session.exec(statement.order_by(col(UnitRef.unit_code)))).all()


async def unit_path(session: AsyncSession, unit_code: str) -> tuple[str, list[str]] | None:
    """A known unit's level and its codes from the province down to itself."""
    unit = await session.get(UnitRef, unit_code)
    if unit is None:
        return None
    path = [unit.unit_code]
    parent = unit.parent_code
    while parent is not None and (ancestor := await session.get(UnitRef, parent)) is not None:
        path.insert(0, ancestor.unit_code)
        parent = ancestor.parent_code
    return unit.level, path


async def replace_round(
    session: AsyncSession, round_id: UUID, totals: Iterable[tuple[str, str, int]]
) -> int:
    """Replace every counter of the round with `(unit_code, metric, value)` totals."""
    table = table_of(UnitFigure)
    await session.exec(delete(UnitFigure).where(col(UnitFigure.round_id) == round_id))
    now = utc_now()
    rows = [
        {
            "round_id": round_id,
            "unit_code": unit,
            "metric": metric,
            "value": value,
            "updated_at": now,
        }
        for unit, metric, value in totals
        if value
    ]
    for start in range(0, len(rows), 5000):
        await session.exec(table.insert(), params=rows[start : start + 5000])
    return len(rows)


async def round_totals(session: AsyncSession, round_id: UUID) -> dict[tuple[str, str], int]:
    statement = select(UnitFigure.unit_code, UnitFigure.metric, UnitFigure.value).where(
        UnitFigure.round_id == round_id, UnitFigure.value != 0
    )
    rows = (await session.exec(statement)).all()
    return {(unit_code, metric): value for unit_code, metric, value in rows}


async def _add(
    session: AsyncSession, round_id: UUID, unit_path: Sequence[str], delta: Counts
) -> None:
    table = table_of(UnitFigure)
    now = utc_now()
    # Sorted, so that concurrent consumers lock rows in one order and cannot deadlock.
    rows = [
        {
            "round_id": round_id,
            "unit_code": unit,
            "metric": metric,
            "value": change,
            "updated_at": now,
        }
        for unit in sorted(unit_path)
        for metric, change in sorted(delta.items())
    ]
    statement = insert_for(session, table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["round_id", "unit_code", "metric"],
        set_={
            "value": table.c.value + statement.excluded.value,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.exec(statement)


async def _refresh_missing_population(
    session: AsyncSession, round_id: UUID, unit_path: Sequence[str]
) -> None:
    commune = unit_path[-1]
    counters, _ = await read(session, round_id, commune)
    flag = missing_population_flag(counters)
    change = flag - counters.get(COMMUNES_MISSING_POPULATION, 0)
    if change:
        await _add(session, round_id, unit_path, Counts({COMMUNES_MISSING_POPULATION: change}))


async def count_rows(session: AsyncSession, round_id: UUID) -> int:
    statement = select(func.count()).select_from(UnitFigure).where(UnitFigure.round_id == round_id)
    return (await session.exec(statement)).one()
