"""Unit counters: applied incrementally per event, read back as figures with rates."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import delete, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures.counts import (
    COMMUNES_MISSING_POPULATION,
    COMMUNES_WITH_POPULATION,
    SURVEYED_HOUSEHOLDS,
    CounterKey,
    Counts,
    Tally,
    flag_change,
    missing_population_flag,
    on_units,
)
from indicators.figures.models import RoundRef, UnitFigure, UnitRef
from indicators.review.models import CommuneReviewCopy
from kit.contracts import Envelope
from kit.contracts.households import ReviewState, RoundOpenedV1
from kit.db import insert_for, table_of, utc_now

LEVELS = ("province", "district", "commune")

Path = tuple[str, ...]  # province, district, commune


async def apply(
    session: AsyncSession, round_id: UUID, unit_path: Sequence[str], delta: Counts
) -> None:
    """Add `delta` to the counters of every unit on the path (province, district, commune)."""
    changes = on_units(round_id, unit_path, delta)
    await apply_changes(session, changes, {(round_id, unit_path[-1]): tuple(unit_path)})


async def apply_changes(
    session: AsyncSession,
    changes: Tally[CounterKey],
    communes: Mapping[tuple[UUID, str], Path],
) -> None:
    """Add `changes` to their counters, then refresh the flag of `communes` that changed.

    `communes` maps each (round, commune) whose households or population the changes move to
    the commune's path; one statement for all the counters, one more to read the communes.
    """
    if not changes:
        return
    await _add(session, changes)
    await _refresh_missing_population(session, communes)


async def remember_units(
    session: AsyncSession, unit_paths: Iterable[tuple[UUID, Sequence[str]]]
) -> None:
    """Record the units of each `(round, path)` and their parents in that round's tree, learned
    from events. A path ends at a commune: province, district, commune before July 2025,
    province and commune after. Per round, since the map change reused commune codes under
    other parents (`UnitRef`)."""
    units = {
        (round_id, code): (
            LEVELS[-1] if depth == len(unit_path) - 1 else LEVELS[depth],
            unit_path[depth - 1] if depth else None,
        )
        for round_id, unit_path in unit_paths
        for depth, code in enumerate(unit_path)
    }
    rows = [
        {"round_id": round_id, "unit_code": code, "level": level, "parent_code": parent}
        for (round_id, code), (level, parent) in sorted(units.items())
    ]
    if not rows:
        return
    statement = insert_for(session, table_of(UnitRef)).on_conflict_do_nothing()
    await session.exec(statement, params=rows)


RoundFacts = tuple[str, int, date]  # standard, year, reference date


async def remember_rounds(session: AsyncSession, rounds: Mapping[UUID, RoundFacts]) -> None:
    """Record each round's standard, year and reference date, from `{round_id: facts}`; a round
    recorded before its reference date was kept gets it now."""
    table = table_of(RoundRef)
    rows = [
        {"round_id": round_id, "standard_id": standard_id, "year": year, "reference_date": day}
        for round_id, (standard_id, year, day) in sorted(rounds.items())
    ]
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["round_id"],
        set_={"reference_date": statement.excluded.reference_date},
        where=table.c.reference_date.is_(None),
    )
    await session.exec(statement, params=rows)


async def record_round_opened(
    session: AsyncSession, envelope: Envelope, event: RoundOpenedV1
) -> None:
    """Record the round's kind (and its facts, when no assessment has brought them yet)."""
    table = table_of(RoundRef)
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["round_id"],
        set_={"kind": statement.excluded.kind, "reference_date": statement.excluded.reference_date},
    )
    row = {
        "round_id": event.round_id,
        "standard_id": event.standard_id,
        "year": event.year,
        "reference_date": event.reference_date,
        "kind": event.kind,
    }
    await session.exec(statement, params=[row])


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


async def commune_cells(
    session: AsyncSession, round_id: UUID, unit_code: str, *, by_district: bool = False
) -> Sequence[tuple[str | None, str, int, int]]:
    """`(commune, metric, value, key_sum)` of the counts of people of every commune of the
    unit's subtree (the unit itself, for a commune), in one query; the commune's district in
    place of the commune `by_district`."""
    commune, district = aliased(UnitRef), aliased(UnitRef)
    group = col(commune.parent_code) if by_district else col(commune.unit_code)
    statement = (
        select(group, UnitFigure.metric, UnitFigure.value, UnitFigure.key_sum)
        .join(
            commune,
            (col(commune.round_id) == UnitFigure.round_id)
            & (col(commune.unit_code) == UnitFigure.unit_code),
        )
        .outerjoin(
            district,
            (col(district.round_id) == col(commune.round_id))
            & (col(district.unit_code) == col(commune.parent_code)),
        )
        .where(
            UnitFigure.round_id == round_id,
            col(commune.level) == "commune",
            or_(
                col(commune.unit_code) == unit_code,
                col(commune.parent_code) == unit_code,
                col(district.parent_code) == unit_code,
            ),
            or_(*(col(UnitFigure.metric).startswith(head) for head in SENSITIVE_HEADS)),
        )
    )
    return (await session.exec(statement)).all()


SENSITIVE_HEADS = ("households.", "persons.", "deprived")


class SurveyedCommune(NamedTuple):
    commune: str
    district: str | None
    approved: bool  # its review is approved


async def surveyed_communes(
    session: AsyncSession, round_id: UUID, unit_code: str
) -> Sequence[SurveyedCommune]:
    """Every commune of the unit's subtree with surveyed households, its district and whether
    its review is approved (one query: a unit's figures say both how many communes were surveyed
    and how many of them are approved)."""
    commune, district = aliased(UnitRef), aliased(UnitRef)
    approved = (
        (col(CommuneReviewCopy.round_id) == col(commune.round_id))
        & (col(CommuneReviewCopy.commune_code) == col(commune.unit_code))
        & (col(CommuneReviewCopy.state) == ReviewState.approved.value)
    )
    statement = (
        select(
            col(commune.unit_code),
            col(commune.parent_code),
            col(CommuneReviewCopy.commune_code).is_not(None),
        )
        .select_from(UnitFigure)
        .join(
            commune,
            (col(commune.round_id) == UnitFigure.round_id)
            & (col(commune.unit_code) == UnitFigure.unit_code),
        )
        .outerjoin(
            district,
            (col(district.round_id) == col(commune.round_id))
            & (col(district.unit_code) == col(commune.parent_code)),
        )
        .outerjoin(CommuneReviewCopy, approved)
        .where(
            UnitFigure.round_id == round_id,
            col(commune.level) == "commune",
            or_(
                col(commune.unit_code) == unit_code,
                col(commune.parent_code) == unit_code,
                col(district.parent_code) == unit_code,
            ),
            UnitFigure.metric == SURVEYED_HOUSEHOLDS,
            UnitFigure.value > 0,
        )
    )
    return [SurveyedCommune(*row) for row in await session.exec(statement)]


async def children(session: AsyncSession, round_id: UUID, unit_code: str) -> Sequence[str]:
    """The unit's children in the round's tree (its map), in code order."""
    statement = select(UnitRef.unit_code).where(
        UnitRef.round_id == round_id, UnitRef.parent_code == unit_code
    )
    return (await session.exec(statement.order_by(col(UnitRef.unit_code)))).all()


async def unit_path(
    session: AsyncSession, round_id: UUID, unit_code: str
) -> tuple[str, list[str]] | None:
    """A unit's level in the round's tree and its codes from the province down to itself; None
    for a unit no event of the round was in."""
    unit = await session.get(UnitRef, (round_id, unit_code))
    if unit is None:
        return None
    path = [unit.unit_code]
    parent = unit.parent_code
    while (
        parent is not None
        and (ancestor := await session.get(UnitRef, (round_id, parent))) is not None
    ):
        path.insert(0, ancestor.unit_code)
        parent = ancestor.parent_code
    return unit.level, path


async def latest_round_of(session: AsyncSession, unit_code: str) -> UUID | None:
    """The latest round (by reference date, then year) whose events placed `unit_code`: the map
    a request naming a unit without a round (a target, a what-if's scope) is read on, since the
    same code may be another unit on an earlier map."""
    statement = (
        select(UnitRef.round_id)
        .join(RoundRef, col(RoundRef.round_id) == col(UnitRef.round_id))
        .where(UnitRef.unit_code == unit_code)
        .order_by(
            col(RoundRef.reference_date).desc().nulls_last(),
            col(RoundRef.year).desc(),
            col(RoundRef.round_id),
        )
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def replace_round(session: AsyncSession, round_id: UUID, totals: Tally[CounterKey]) -> int:
    """Replace every counter of the round with `totals` (all of them of this round)."""
    table = table_of(UnitFigure)
    await session.exec(delete(UnitFigure).where(col(UnitFigure.round_id) == round_id))
    now = utc_now()
    rows = [
        {
            "round_id": round_id,
            "unit_code": unit,
            "metric": metric,
            "value": value,
            "key_sum": key_sum,
            "updated_at": now,
        }
        for (_, unit, metric), value, key_sum in totals.items()
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


async def round_tally(session: AsyncSession, round_id: UUID) -> Tally[CounterKey]:
    """Every counter of the round with its key sum."""
    statement = select(
        UnitFigure.unit_code, UnitFigure.metric, UnitFigure.value, UnitFigure.key_sum
    ).where(UnitFigure.round_id == round_id)
    tally: Tally[CounterKey] = Tally()
    for unit_code, metric, value, key_sum in (await session.exec(statement)).all():
        tally.add((round_id, unit_code, metric), value, key_sum)
    return tally


async def _add(session: AsyncSession, changes: Tally[CounterKey]) -> None:
    """One upsert, `value = value + change` (and the key sum's), of the same shape whatever the
    number of rows."""
    table = table_of(UnitFigure)
    now = utc_now()
    # Sorted, so that concurrent consumers lock rows in one order and cannot deadlock.
    rows = [
        {
            "round_id": round_id,
            "unit_code": unit,
            "metric": metric,
            "value": change,
            "key_sum": key_change,
            "updated_at": now,
        }
        for (round_id, unit, metric), change, key_change in sorted(changes.items())
    ]
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["round_id", "unit_code", "metric"],
        set_={
            "value": table.c.value + statement.excluded.value,
            "key_sum": table.c.key_sum + statement.excluded.key_sum,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.exec(statement, params=rows)


FLAG_INPUTS = (SURVEYED_HOUSEHOLDS, COMMUNES_WITH_POPULATION, COMMUNES_MISSING_POPULATION)


async def _refresh_missing_population(
    session: AsyncSession, communes: Mapping[tuple[UUID, str], Path]
) -> None:
    if not communes:
        return
    statement = select(
        UnitFigure.round_id, UnitFigure.unit_code, UnitFigure.metric, UnitFigure.value
    ).where(
        col(UnitFigure.round_id).in_({round_id for round_id, _ in communes}),
        col(UnitFigure.unit_code).in_({commune for _, commune in communes}),
        col(UnitFigure.metric).in_(FLAG_INPUTS),
    )
    counters: dict[tuple[UUID, str], dict[str, int]] = {}
    for round_id, unit, metric, value in (await session.exec(statement)).all():
        counters.setdefault((round_id, unit), {})[metric] = value
    changes: Tally[CounterKey] = Tally()
    for (round_id, commune), unit_path in communes.items():
        commune_counters = counters.get((round_id, commune), {})
        flag = missing_population_flag(commune_counters)
        change = flag - commune_counters.get(COMMUNES_MISSING_POPULATION, 0)
        if change:
            on_units(round_id, unit_path, flag_change(change), into=changes)
    if changes:
        await _add(session, changes)


async def count_rows(session: AsyncSession, round_id: UUID) -> int:
    statement = select(func.count()).select_from(UnitFigure).where(UnitFigure.round_id == round_id)
    return (await session.exec(statement)).one()
