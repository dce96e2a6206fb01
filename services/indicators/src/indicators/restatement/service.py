"""Figures of a round restated onto a later map, re-aggregated from household classifications.

Each household of the round goes to a commune of the later map: its own commune when no map
change came between the round's reference date and the map's day; else its commune's successor
when there is one (a whole merge, an unchanged or renamed commune); else, its commune having been
split, the successor it is registered in now (an officer assigned it) if that is one of them.
A household of a split commune that is in none of the successors is unassigned: it is counted
nowhere, and every successor it may go to (and the units above) says so.

The households are regrouped in one GROUP BY (by target, class, area and deprivations), each
group turned into counters by `household_counts`, as one household would be, with the sum of the
record keys of its households: restated commune cells carry their own cell keys. Resident
population follows whole merges (the sum of the predecessors'); a split commune's population
cannot be divided, so the rates of its successors (and the units above) are withheld.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import HouseholdClassification
from indicators.figures.counts import (
    COMMUNES_MISSING_POPULATION,
    COMMUNES_SPLIT,
    COMMUNES_WITH_POPULATION,
    RESIDENT_HOUSEHOLDS,
    RESIDENT_PERSONS,
    Counts,
    Tally,
)
from indicators.figures.groups import deprived, group_counts, record_key
from indicators.figures.models import UnitFigure
from indicators.restatement.models import HouseholdUnitCopy, UnitSuccessionCopy
from kit.contracts import Envelope
from kit.contracts.households import (
    HouseholdRegisteredV1,
    HouseholdsRegisteredV1,
    SuccessionRelation,
    UnitSuccessionsRecordedV1,
)
from kit.db import insert_for, table_of

PARTIAL = SuccessionRelation.partial.value
POPULATION_METRICS = (
    *(
        f"{head}{suffix}"
        for head in (RESIDENT_HOUSEHOLDS, RESIDENT_PERSONS)
        for suffix in ("", ".urban", ".rural")
    ),
    COMMUNES_WITH_POPULATION,
    COMMUNES_MISSING_POPULATION,
)


def unit_key(unit_path: Sequence[str]) -> str:
    return "/".join(unit_path)


async def record_successions(
    session: AsyncSession, envelope: Envelope, event: UnitSuccessionsRecordedV1
) -> None:
    """Replace the copy of one old province's crosswalk for this map change, unless a newer
    one is kept (a redelivery or a repeated load replaces it by the same rows)."""
    table = table_of(UnitSuccessionCopy)
    mine = and_(
        table.c.predecessor_province_code == event.predecessor_province_code,
        table.c.effective == event.effective,
    )
    kept = (await session.exec(select(func.max(table.c.sequence)).where(mine))).one()
    if kept is not None and kept > envelope.sequence:
        return  # an older load arriving late
    await session.exec(table.delete().where(mine))
    rows = [
        {
            "predecessor_code": edge.predecessor_code,
            "predecessor_valid_from": edge.predecessor_valid_from,
            "successor_code": edge.successor_code,
            "successor_valid_from": edge.successor_valid_from,
            "predecessor_province_code": event.predecessor_province_code,
            "successor_level": edge.successor_level,
            "successor_province_code": edge.successor_unit_path[0],
            "successor_key": unit_key(edge.successor_unit_path),
            "relation": edge.relation.value,
            "effective": event.effective,
            "source": event.source,
            "sequence": envelope.sequence,
        }
        for edge in event.successions
    ]
    if rows:
        await session.exec(table.insert(), params=rows)


async def record_households(
    session: AsyncSession,
    deliveries: Sequence[tuple[Envelope, HouseholdRegisteredV1 | HouseholdsRegisteredV1]],
) -> None:
    """Keep each household's newest registered commune (by the registry's version), from single
    events and an import's batch messages alike."""
    newest: dict[UUID, HouseholdRegisteredV1] = {}
    for _, delivered in deliveries:
        batch = (
            delivered.households if isinstance(delivered, HouseholdsRegisteredV1) else [delivered]
        )
        for event in batch:
            known = newest.get(event.household_id)
            if known is None or known.version < event.version:
                newest[event.household_id] = event
    if not newest:
        return
    table = table_of(HouseholdUnitCopy)
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["household_id"],
        set_={
            "commune_code": statement.excluded.commune_code,
            "unit_key": statement.excluded.unit_key,
            "version": statement.excluded.version,
            "village": statement.excluded.village,
        },
        where=table.c.version < statement.excluded.version,
    )
    rows = [
        {
            "household_id": household_id,
            "commune_code": event.commune_code,
            "unit_key": unit_key(event.unit_path),
            "version": event.version,
            "village": event.village,
        }
        for household_id, event in sorted(newest.items())
    ]
    await session.exec(statement, params=rows)


async def map_changed(session: AsyncSession, reference_date: date, day: date) -> bool:
    """Whether a map change took effect after the reference date, on `day` or before."""
    table = table_of(UnitSuccessionCopy)
    statement = select(table.c.predecessor_code).where(
        table.c.effective > reference_date, table.c.effective <= day
    )
    return (await session.exec(statement.limit(1))).first() is not None


@dataclass
class Commune:
    """A commune of the later map: its path there and what the round restates into it."""

    path: tuple[str, ...]
    counts: Counts = field(default_factory=Counts)
    reported: set[str] = field(default_factory=set)  # as-reported communes with its households
    split: set[str] = field(default_factory=set)  # as-reported communes split into it


@dataclass
class Unassigned:
    """The households of a split commune in none of its successors yet."""

    households: int
    key_sum: int
    candidates: set[str]  # its successors within the unit asked for


@dataclass
class Restatement:
    """A unit of the later map and the communes of that map under it, restated."""

    level: str
    path: tuple[str, ...]
    communes: dict[str, Commune]
    unassigned: dict[str, Unassigned]  # by as-reported commune

    def under(self, unit_code: str) -> list[Commune]:
        return [commune for commune in self.communes.values() if unit_code in commune.path]

    def children(self) -> list[str]:
        depth = len(self.path)
        return sorted(
            {commune.path[depth] for commune in self.communes.values() if len(commune.path) > depth}
        )

    def unassigned_of(self, unit_code: str) -> dict[str, Unassigned]:
        """The split communes some of whose unassigned households may go into the unit."""
        codes = {
            commune for commune, restated in self.communes.items() if unit_code in restated.path
        }
        return {
            reported: unassigned
            for reported, unassigned in self.unassigned.items()
            if unassigned.households and unassigned.candidates & codes
        }


LEVEL_BY_WIDTH = {2: "province", 3: "district", 5: "commune"}


async def restate(
    session: AsyncSession, round_id: UUID, reference_date: date, day: date, unit_code: str
) -> Restatement | None:
    """The unit of the map of `day` with this code, its communes restated; None when no unit
    of that map has the code (or the round has nothing for it)."""
    edges = await _edges_into(session, reference_date, day, unit_code)
    by_predecessor: dict[str, list[UnitSuccessionCopy]] = defaultdict(list)
    for edge in edges:
        by_predecessor[edge.predecessor_code].append(edge)
    communes: dict[str, Commune] = {
        edge.successor_code: Commune(tuple(edge.successor_key.split("/"))) for edge in edges
    }
    groups = await _household_groups(
        session, round_id, reference_date, day, unit_code, set(by_predecessor)
    )
    for row in groups:
        path = tuple(row.successor_key.split("/")) if row.successor_key else row.reported_path
        target = communes.setdefault(path[-1], Commune(path))
        target.reported.add(row.reported_commune)
        target.counts.update(
            group_counts(
                household_class=row.household_class,
                area=row.area,
                deprived_text=row.deprived_text,
                households=row.households,
                persons=row.persons,
                key_sum=row.key_sum,
            )
        )
    split = {code for code, out in by_predecessor.items() if out[0].relation == PARTIAL}
    unassigned = {
        code: Unassigned(
            households, key_sum, {edge.successor_code for edge in by_predecessor[code]}
        )
        for code, households, key_sum in await _unassigned(
            session, round_id, reference_date, day, split
        )
    }
    # A split commune the round has neither households nor a population of changes nothing
    # (say, one of another old province merged into the unit): it withholds no rate.
    split &= (
        {row.reported_commune for row in groups}
        | set(unassigned)
        | {reported for reported, _, _ in await populations(session, round_id, split)}
    )
    for code in split:
        for edge in by_predecessor[code]:
            communes[edge.successor_code].split.add(code)
    identity = {row.reported_commune: row.reported_path for row in groups if not row.successor_key}
    for reported, metric, value in await populations(
        session, round_id, set(by_predecessor) - split | set(identity)
    ):
        targets = [edge.successor_key.split("/") for edge in by_predecessor.get(reported, [])]
        path = tuple(targets[0]) if targets else identity[reported]
        communes[path[-1]].counts.add(metric, value)
    level = LEVEL_BY_WIDTH.get(len(unit_code))
    if level is None or not communes:
        return None
    any_path = next(iter(communes.values())).path
    if unit_code not in any_path:
        return None
    return Restatement(level, any_path[: any_path.index(unit_code) + 1], communes, unassigned)


async def _edges_into(
    session: AsyncSession, reference_date: date, day: date, unit_code: str
) -> Sequence[UnitSuccessionCopy]:
    """The crosswalk's commune edges of a map change between the two days into the unit."""
    into = {
        2: col(UnitSuccessionCopy.successor_province_code) == unit_code,
        5: col(UnitSuccessionCopy.successor_code) == unit_code,
    }.get(len(unit_code))
    if into is None:  # districts: none on a map after a change (nor before 2025's)
        return []
    statement = select(UnitSuccessionCopy).where(
        col(UnitSuccessionCopy.successor_level) == "commune",
        *_in_force(UnitSuccessionCopy, reference_date, day),
        into,
    )
    return (await session.exec(statement)).all()


def _in_force(edges: Any, reference_date: date, day: date) -> list[ColumnElement[bool]]:
    """Edges of a map change after the reference date and on or before `day`, from units in
    force on the reference date."""
    return [
        col(edges.predecessor_valid_from) <= reference_date,
        col(edges.effective) > reference_date,
        col(edges.effective) <= day,
    ]


@dataclass(frozen=True)
class _Group:
    reported_commune: str
    reported_path: tuple[str, ...]
    successor_key: str | None
    household_class: str
    area: str
    deprived_text: str | None
    households: int
    persons: int
    key_sum: int


async def _household_groups(
    session: AsyncSession,
    round_id: UUID,
    reference_date: date,
    day: date,
    unit_code: str,
    predecessors: set[str],
) -> list[_Group]:
    """The round's households that the map of `day` puts in the unit, grouped by as-reported
    commune, target, class, area and deprivations: one statement."""
    c = HouseholdClassification
    edge = aliased(UnitSuccessionCopy)
    here = aliased(HouseholdUnitCopy)
    deprived_text = deprived(c)
    reformed = col(edge.predecessor_code).is_not(None)
    if len(unit_code) == 2:
        own, successor = col(c.province_code), col(edge.successor_province_code)
    elif len(unit_code) == 5:
        own, successor = col(c.commune_code), col(edge.successor_code)
    else:  # a district: only on a map that kept the round's districts
        own, successor = col(c.district_code), None
    within = (
        case((reformed, successor), else_=own) == unit_code
        if successor is not None
        else and_(~reformed, own == unit_code)
    )
    # Ten columns: more than sqlmodel's `select` and `exec` overloads type, hence SQLAlchemy's.
    statement: Any = (
        sql_select(
            col(c.commune_code),
            col(c.province_code),
            col(c.district_code),
            col(edge.successor_key),
            col(c.household_class),
            col(c.area),
            deprived_text,
            func.count(),
            func.sum(c.persons),
            func.sum(record_key(c)),
        )
        .outerjoin(
            edge,
            and_(
                col(edge.predecessor_code) == col(c.commune_code),
                *_in_force(edge, reference_date, day),
            ),
        )
        .outerjoin(here, col(here.household_id) == col(c.household_id))
        .where(
            col(c.round_id) == round_id,
            or_(col(c.commune_code).in_(predecessors), own == unit_code),
            within,
            or_(
                col(edge.relation).is_(None),
                col(edge.relation) != PARTIAL,
                col(edge.successor_key) == col(here.unit_key),
            ),
        )
        .group_by(
            col(c.commune_code),
            col(c.province_code),
            col(c.district_code),
            col(edge.successor_key),
            col(c.household_class),
            col(c.area),
            deprived_text,
        )
    )
    return [
        _Group(
            reported_commune=commune,
            reported_path=tuple(code for code in (province, district, commune) if code),
            successor_key=successor_key,
            household_class=household_class,
            area=area,
            deprived_text=text,
            households=int(households),
            persons=int(persons),
            key_sum=int(key_sum),
        )
        for (
            commune,
            province,
            district,
            successor_key,
            household_class,
            area,
            text,
            households,
            persons,
            key_sum,
        ) in (await session.exec(statement)).all()
    ]


async def _unassigned(
    session: AsyncSession, round_id: UUID, reference_date: date, day: date, split: set[str]
) -> Sequence[tuple[str, int, int]]:
    """Per split commune: its households in none of its successors, and their key sum."""
    if not split:
        return []
    c = HouseholdClassification
    edge = aliased(UnitSuccessionCopy)
    here = aliased(HouseholdUnitCopy)
    assigned = exists().where(
        col(edge.predecessor_code) == col(c.commune_code),
        *_in_force(edge, reference_date, day),
        col(here.household_id) == col(c.household_id),
        col(edge.successor_key) == col(here.unit_key),
    )
    statement = (
        select(c.commune_code, func.count(), func.sum(record_key(c)))
        .where(col(c.round_id) == round_id, col(c.commune_code).in_(split), ~assigned)
        .group_by(c.commune_code)
    )
    rows = (await session.exec(statement)).all()
    return [(commune, int(households), int(key_sum)) for commune, households, key_sum in rows]


async def populations(
    session: AsyncSession, round_id: UUID, communes: set[str]
) -> Sequence[tuple[str, str, int]]:
    """`(commune, metric, value)` of the as-reported communes' population counters."""
    if not communes:
        return []
    statement = select(UnitFigure.unit_code, UnitFigure.metric, UnitFigure.value).where(
        UnitFigure.round_id == round_id,
        col(UnitFigure.unit_code).in_(communes),
        col(UnitFigure.metric).in_(POPULATION_METRICS),
    )
    return (await session.exec(statement)).all()


def counters(communes: Iterable[Commune]) -> dict[str, int]:
    """A restated unit's counters: its communes' summed, and how many split communes it has."""
    total: Counts = Tally()
    split: set[str] = set()
    for commune in communes:
        total.update(commune.counts)
        split |= commune.split
    values = {metric: value for metric, value, _ in total.items()}
    values[COMMUNES_SPLIT] = len(split)
    return values


def leaf_rows(communes: Iterable[Commune]) -> Iterable[tuple[str, int, int]]:
    """`(metric, value, key_sum)` of the restated commune cells."""
    for commune in communes:
        yield from commune.counts.items()


def reported_communes(
    communes: Iterable[Commune], unassigned: Mapping[str, Unassigned]
) -> set[str]:
    found = {reported for commune in communes for reported in commune.reported}
    return found | set(unassigned)
