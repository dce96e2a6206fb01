"""Transitions between two rounds of a unit, from the households' classifications in each.

The unit is one of the end round's map. The start round's households are put on that map first,
as restated figures are (`restatement/`): a commune merged whole goes to its successor; a split
commune's household to the successor it is registered in now, else to the one it was surveyed in
in the end round, else it is unassigned (counted nowhere, and said). Then each household's two
rounds and its earlier history place it in the cells of its communes (`movements.py`).

Set-wise (`_grouped`, the tables): the two rounds are joined on the household in SQL and grouped
by everything that places a household (its communes and classes in both rounds, its earlier poor
and near-poor classes, a split commune's registered successor), with the number of households,
their members and the sums of their record keys; each group is then placed once by
`alike_movements`, as its households one by one would be (a property test checks it). One by one
(`_one_by_one`, the drill-down): the unit's households in either round and the other round's row
of each, two statements per round, each household placed by `movements` and kept. A test checks
that both give the same cells under every precedence, across a map change.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, func, literal, or_
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.as_of.service import is_regular
from indicators.classification.models import HouseholdClassification
from indicators.figures.counts import Tally
from indicators.figures.models import RoundRef
from indicators.restatement.models import HouseholdUnitCopy, UnitSuccessionCopy
from indicators.restatement.service import PARTIAL
from indicators.transitions.movements import (
    DECREASES,
    INCREASES,
    NEAR_POOR,
    POOR,
    STAYED,
    TABLES,
    Alike,
    Movement,
    Precedence,
    Seen,
    alike_movements,
    movements,
)
from kit.auth.scope import in_unit

COUNTED = ("households", "persons")
# A leaf cell: (commune, table, households|persons, row).
Cell = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class _Row:
    household_id: UUID
    household_code: str
    commune_code: str
    path: tuple[str, ...]
    household_class: str
    persons: int
    record_key: int


@dataclass
class Placed:
    """A household of the unit and the cells it went into (for the drill-down)."""

    household_id: UUID
    household_code: str
    start_class: str | None
    end_class: str | None
    start_commune: str | None
    end_commune: str | None
    movements: list[Movement]


@dataclass
class Transitions:
    """The cells of every commune of the unit on the end round's map."""

    unit_code: str
    level: str
    path: tuple[str, ...]
    paths: dict[str, tuple[str, ...]]  # commune → its path on the end round's map
    cells: Tally[Cell] = field(default_factory=Tally)
    placed: list[Placed] = field(default_factory=list)
    unassigned_households: int = 0
    unassigned_key_sum: int = 0

    def communes_under(self, unit_code: str) -> set[str]:
        return {commune for commune, path in self.paths.items() if unit_code in path}

    def children(self) -> list[str]:
        depth = len(self.path)
        return sorted({path[depth] for path in self.paths.values() if len(path) > depth})

    def leaf_rows(self, unit_code: str) -> Iterable[tuple[Cell, int, int]]:
        communes = self.communes_under(unit_code)
        for cell, value, key_sum in self.cells.items():
            if cell[0] in communes:
                yield cell, value, key_sum


class RoundsOutOfOrder(Exception):
    """The start round is not before the end round, or they are of different kinds."""


def check_order(start: RoundRef, end: RoundRef) -> str | None:
    """Why the two rounds cannot be compared, or None."""
    start_kind = "regular" if is_regular(start) else "periodic"
    end_kind = "regular" if is_regular(end) else "periodic"
    if start_kind != end_kind:
        return (
            f"Round {start.round_id} is {start_kind} and round {end.round_id} is {end_kind}: "
            "transitions compare rounds of one kind."
        )
    start_day, end_day = _day(start), _day(end)
    if start_day >= end_day:
        return (
            f"Round {start.round_id} ({start_day}) is not before round {end.round_id} "
            f"({end_day}): the start round comes first."
        )
    return None


def _day(round_: RoundRef) -> date:
    return round_.reference_date or date(round_.year, 1, 1)


async def transitions(
    session: AsyncSession,
    start: RoundRef,
    end: RoundRef,
    unit_code: str,
    precedence: Precedence,
    *,
    keep_households: bool = False,
) -> Transitions | None:
    """The unit's cells between the two rounds; None when neither round has a household in a
    unit of the end round's map with this code. Households with one history are counted
    together (`_grouped`); `keep_households` places them one by one, keeping who went where
    (the drill-down). Both place households with `movements`."""
    if keep_households:
        return await _one_by_one(session, start, end, unit_code, precedence)
    return await _grouped(session, start, end, unit_code, precedence)


async def _one_by_one(
    session: AsyncSession,
    start: RoundRef,
    end: RoundRef,
    unit_code: str,
    precedence: Precedence,
    *,
    keep_households: bool = True,
) -> Transitions | None:
    edges = await _edges(session, _day(start), _day(end))
    into_unit = {
        edge.predecessor_code for edge in edges if unit_code in edge.successor_key.split("/")
    }
    c = HouseholdClassification
    columns = (col(c.province_code), col(c.district_code), col(c.commune_code))
    start_here = or_(in_unit(unit_code, columns), col(c.commune_code).in_(into_unit))
    end_here = in_unit(unit_code, columns)
    start_rows = await _rows(session, start.round_id, start_here, end.round_id, end_here)
    end_rows = await _rows(session, end.round_id, end_here, start.round_id, start_here)
    ids = start_rows.keys() | end_rows.keys()
    earlier = await _earlier(session, start, ids)
    split = _split(edges)
    registered = await _registered(
        session, {row.household_id for row in start_rows.values() if row.commune_code in split}
    )
    by_predecessor: dict[str, list[UnitSuccessionCopy]] = defaultdict(list)
    for edge in edges:
        by_predecessor[edge.predecessor_code].append(edge)

    paths: dict[str, tuple[str, ...]] = {}
    for row in end_rows.values():
        paths[row.commune_code] = row.path
    found = Transitions(unit_code, "", (), paths)
    for household_id in sorted(ids):
        start_row, end_row = start_rows.get(household_id), end_rows.get(household_id)
        start_seen = None
        if start_row is not None:
            start_path = _restated(start_row, by_predecessor, registered, end_row)
            if start_path is None:
                if any(
                    unit_code in edge.successor_key.split("/")
                    for edge in by_predecessor[start_row.commune_code]
                ):
                    found.unassigned_households += 1
                    found.unassigned_key_sum += start_row.record_key
            else:
                paths.setdefault(start_path[-1], start_path)
                start_seen = Seen(start_path[-1], start_row.household_class, start_row.persons)
        end_seen = None
        if end_row is not None:
            end_seen = Seen(end_row.commune_code, end_row.household_class, end_row.persons)
        history = earlier.get(household_id)
        placed = [
            movement
            for movement in movements(
                start_seen,
                end_seen,
                earlier=frozenset(history or ()),
                seen_earlier=history is not None,
                precedence=precedence,
            )
            if unit_code in paths[movement.commune]
        ]
        either = start_row or end_row
        assert either is not None  # every id is in one of the two rounds
        key = either.record_key  # the same household: the same key in every round
        for movement in placed:
            for counted in COUNTED:
                value = movement.households if counted == "households" else movement.persons
                if value or counted == "persons":
                    found.cells.add(
                        (movement.commune, movement.table, counted, movement.row), value, key
                    )
        if keep_households and placed:
            found.placed.append(
                Placed(
                    household_id=household_id,
                    household_code=either.household_code,
                    start_class=start_row.household_class if start_row else None,
                    end_class=end_row.household_class if end_row else None,
                    start_commune=start_seen.commune if start_seen else None,
                    end_commune=end_seen.commune if end_seen else None,
                    movements=placed,
                )
            )
    return _finished(found, paths)


def _finished(found: Transitions, paths: Mapping[str, tuple[str, ...]]) -> Transitions | None:
    unit_code = found.unit_code
    unit_paths = [path for path in paths.values() if unit_code in path]
    if not unit_paths:
        return None
    found.paths = {commune: path for commune, path in paths.items() if unit_code in path}
    found.path = unit_paths[0][: unit_paths[0].index(unit_code) + 1]
    found.level = (
        "province" if len(found.path) == 1 else ("commune" if len(unit_code) == 5 else "district")
    )
    return found


async def _grouped(
    session: AsyncSession, start: RoundRef, end: RoundRef, unit_code: str, precedence: Precedence
) -> Transitions | None:
    """Set-wise: one GROUP BY per side over the two rounds joined on the household, by the
    history that places a household (communes, classes, earlier classes, a split commune's
    registered successor), then each group placed once (`alike_movements`)."""
    edges = await _edges(session, _day(start), _day(end))
    into_unit = {
        edge.predecessor_code for edge in edges if unit_code in edge.successor_key.split("/")
    }
    split = _split(edges)
    by_predecessor: dict[str, list[UnitSuccessionCopy]] = defaultdict(list)
    for edge in edges:
        by_predecessor[edge.predecessor_code].append(edge)
    before = await _rounds_before(session, start)
    paths: dict[str, tuple[str, ...]] = {}
    found = Transitions(unit_code, "", (), paths)
    for group in await _history_groups(
        session, start.round_id, end.round_id, unit_code, into_unit, split, before
    ):
        end_seen = None
        if group.end_path is not None:
            paths.setdefault(group.end_path[-1], group.end_path)
            end_seen = Seen(group.end_path[-1], group.end_class or "", 0)
        start_seen = None
        if group.start_path is not None:
            restated = _restated_path(
                group.start_path, by_predecessor, group.registered, group.end_path
            )
            if restated is None:
                if group.start_path[-1] in into_unit:
                    found.unassigned_households += group.households
                    found.unassigned_key_sum += group.key_sum
            else:
                paths.setdefault(restated[-1], restated)
                start_seen = Seen(restated[-1], group.start_class or "", 0)
        if start_seen is None and end_seen is None:
            continue
        alike = Alike(
            start=start_seen,
            end=end_seen,
            earlier=group.earlier,
            seen_earlier=group.seen_earlier,
            households=group.households,
            start_persons=group.start_persons,
            end_persons=group.end_persons,
            kept_persons=group.kept_persons,
            gained_persons=group.gained_persons,
            lost_persons=group.lost_persons,
        )
        for movement in alike_movements(alike, precedence):
            if unit_code not in paths[movement.commune]:
                continue
            for counted in COUNTED:
                value = movement.households if counted == "households" else movement.persons
                if value or counted == "persons":
                    found.cells.add(
                        (movement.commune, movement.table, counted, movement.row),
                        value,
                        group.key_sum,
                    )
    return _finished(found, paths)


@dataclass(frozen=True, slots=True)
class _Group:
    start_path: tuple[str, ...] | None
    registered: str | None
    end_path: tuple[str, ...] | None
    start_class: str | None
    end_class: str | None
    earlier: frozenset[str]
    seen_earlier: bool
    households: int
    start_persons: int
    end_persons: int
    kept_persons: int
    gained_persons: int
    lost_persons: int
    key_sum: int


def _path(*codes: str | None) -> tuple[str, ...] | None:
    found = tuple(code for code in codes if code)
    return found or None


async def _history_groups(
    session: AsyncSession,
    start_round: UUID,
    end_round: UUID,
    unit_code: str,
    into_unit: set[str],
    split: set[str],
    before: list[UUID],
) -> list[_Group]:
    """The households of the unit in either round (and where each was or went), grouped by
    history, in one statement: the two rounds' rows fully joined on the household (a hash or
    merge join whatever the statistics say, never a lookup per household)."""
    c = HouseholdClassification
    columns = (
        col(c.household_id),
        col(c.province_code),
        col(c.district_code),
        col(c.commune_code),
        col(c.household_class),
        col(c.persons),
        col(c.record_key),
    )
    s = sql_select(*columns).where(col(c.round_id) == start_round).subquery("s")
    e = sql_select(*columns).where(col(c.round_id) == end_round).subquery("e")
    here = aliased(HouseholdUnitCopy)
    household = func.coalesce(s.c.household_id, e.c.household_id)
    start_here = or_(
        in_unit(unit_code, (s.c.province_code, s.c.district_code, s.c.commune_code)),
        s.c.commune_code.in_(into_unit),
    )
    end_here = in_unit(unit_code, (e.c.province_code, e.c.district_code, e.c.commune_code))
    past: Any = None
    history: list[Any] = [literal(0), literal(0), literal(False)]
    if before:
        past = (
            sql_select(
                col(c.household_id).label("household_id"),
                func.max(case((col(c.household_class) == POOR, 1), else_=0)).label("poor"),
                func.max(case((col(c.household_class) == NEAR_POOR, 1), else_=0)).label("near"),
            )
            .where(col(c.round_id).in_(before))
            .group_by(col(c.household_id))
            .subquery("past")
        )
        history = [past.c.poor, past.c.near, past.c.household_id.is_not(None)]
    s_persons, e_persons = s.c.persons, e.c.persons
    both = and_(s_persons.is_not(None), e_persons.is_not(None))
    keys = [
        s.c.province_code,
        s.c.district_code,
        s.c.commune_code,
        case((s.c.commune_code.in_(split), here.unit_key), else_=None),
        e.c.province_code,
        e.c.district_code,
        e.c.commune_code,
        s.c.household_class,
        e.c.household_class,
    ]
    statement: Any = sql_select(
        *keys,
        *history,
        func.count(),
        func.sum(func.coalesce(s_persons, 0)),
        func.sum(func.coalesce(e_persons, 0)),
        func.sum(case((~both, 0), (e_persons < s_persons, e_persons), else_=s_persons)),
        func.sum(case((both & (e_persons > s_persons), e_persons - s_persons), else_=0)),
        func.sum(case((both & (e_persons < s_persons), s_persons - e_persons), else_=0)),
        func.sum(func.coalesce(s.c.record_key, e.c.record_key, 0)),
    ).select_from(s.join(e, s.c.household_id == e.c.household_id, full=True))
    statement = statement.outerjoin(here, col(here.household_id) == household)
    if past is not None:
        statement = statement.outerjoin(past, past.c.household_id == household)
    statement = statement.where(or_(start_here, end_here)).group_by(
        *keys, *(history if past is not None else [])
    )
    groups: list[_Group] = []
    connection = await session.connection()
    for row in (await connection.execute(statement)).all():
        (sp, sd, sc, reg, ep, ed, ec, s_class, e_class, poor, near, seen) = row[:12]
        earlier = frozenset(name for name, flag in ((POOR, poor), (NEAR_POOR, near)) if flag)
        groups.append(
            _Group(
                start_path=_path(sp, sd, sc),
                registered=reg,
                end_path=_path(ep, ed, ec),
                start_class=s_class,
                end_class=e_class,
                earlier=earlier,
                seen_earlier=bool(seen),
                households=int(row[12]),
                start_persons=int(row[13] or 0),
                end_persons=int(row[14] or 0),
                kept_persons=int(row[15] or 0),
                gained_persons=int(row[16] or 0),
                lost_persons=int(row[17] or 0),
                key_sum=int(row[18] or 0),
            )
        )
    return groups


def _restated_path(
    path: tuple[str, ...],
    by_predecessor: Mapping[str, list[UnitSuccessionCopy]],
    registered: str | None,
    end_path: tuple[str, ...] | None,
) -> tuple[str, ...] | None:
    """A start commune on the end round's map (see `_restated`), None if unassigned."""
    out = by_predecessor.get(path[-1])
    if not out:
        return path
    if out[0].relation != PARTIAL:
        return tuple(out[0].successor_key.split("/"))
    keys = {edge.successor_key for edge in out}
    for key in (registered, end_path and "/".join(end_path)):
        if key in keys:
            return tuple(key.split("/"))
    return None


@dataclass(frozen=True)
class Table:
    """One table of one unit: households or persons."""

    start: int
    decreases: dict[str, int]
    increases: dict[str, int]
    end: int


def table(cells: Mapping[tuple[str, str, str], int], table: str, counted: str) -> Table:
    """A unit's table from its summed cells `{(table, counted, row): value}`: start and end are
    the stayed count plus the decreases, resp. the increases, so the identity holds for any
    values of the cells (perturbed ones included)."""
    stayed = cells.get((table, counted, STAYED), 0)
    decreases = {row: cells.get((table, counted, row), 0) for row in DECREASES[table]}
    increases = {row: cells.get((table, counted, row), 0) for row in INCREASES[table]}
    if counted == "households":  # size changes move persons, never households
        decreases.pop("other_smaller")
        increases.pop("other_larger")
    return Table(
        start=stayed + sum(decreases.values()),
        decreases=decreases,
        increases=increases,
        end=stayed + sum(increases.values()),
    )


def summed(rows: Iterable[tuple[Cell, int]]) -> dict[tuple[str, str, str], int]:
    total: dict[tuple[str, str, str], int] = defaultdict(int)
    for (_, table_, counted, row), value in rows:
        total[(table_, counted, row)] += value
    return total


async def _edges(session: AsyncSession, start_day: date, end_day: date) -> list[UnitSuccessionCopy]:
    """The commune edges of map changes between the two rounds (from units of the start map)."""
    e = UnitSuccessionCopy
    statement = select(e).where(
        col(e.successor_level) == "commune",
        col(e.predecessor_valid_from) <= start_day,
        col(e.effective) > start_day,
        col(e.effective) <= end_day,
    )
    return list((await session.exec(statement)).all())


def _split(edges: Sequence[UnitSuccessionCopy]) -> set[str]:
    return {edge.predecessor_code for edge in edges if edge.relation == PARTIAL}


def _restated(
    row: _Row,
    by_predecessor: Mapping[str, list[UnitSuccessionCopy]],
    registered: Mapping[UUID, str],
    end_row: _Row | None,
) -> tuple[str, ...] | None:
    """The household's start commune on the end round's map (its path), None if unassigned."""
    out = by_predecessor.get(row.commune_code)
    if not out:
        return row.path
    if out[0].relation != PARTIAL:
        return tuple(out[0].successor_key.split("/"))
    keys = {edge.successor_key for edge in out}
    for key in (registered.get(row.household_id), end_row and "/".join(end_row.path)):
        if key in keys:
            return tuple(key.split("/"))
    return None


async def _rows(
    session: AsyncSession,
    round_id: UUID,
    here: ColumnElement[bool],
    other_round: UUID,
    there: ColumnElement[bool],
) -> dict[UUID, _Row]:
    """The round's households in the unit, and those in the unit in the other round."""
    c = HouseholdClassification
    other = sql_select(col(c.household_id)).where(col(c.round_id) == other_round, there)
    statement: Any = sql_select(
        col(c.household_id),
        col(c.household_code),
        col(c.commune_code),
        col(c.unit_path),
        col(c.household_class),
        col(c.persons),
        col(c.record_key),
    ).where(col(c.round_id) == round_id, or_(here, col(c.household_id).in_(other)))
    rows: dict[UUID, _Row] = {}
    for household_id, code, commune, path, household_class, persons, key in (
        await session.exec(statement)
    ).all():
        rows[household_id] = _Row(
            household_id, code, commune, tuple(path), household_class, int(persons), int(key or 0)
        )
    return rows


async def _rounds_before(session: AsyncSession, start: RoundRef) -> list[UUID]:
    """The rounds of the start round's kind before it."""
    statement = select(RoundRef).where(col(RoundRef.round_id) != start.round_id)
    return [
        round_.round_id
        for round_ in (await session.exec(statement)).all()
        if _day(round_) < _day(start) and is_regular(round_) == is_regular(start)
    ]


async def previous_round(session: AsyncSession, end: RoundRef) -> RoundRef | None:
    """The latest round of the end round's kind before it: where a report's transitions start
    when it names no start round (the previous period)."""
    statement = select(RoundRef).where(col(RoundRef.round_id) != end.round_id)
    earlier = [
        round_
        for round_ in (await session.exec(statement)).all()
        if _day(round_) < _day(end) and is_regular(round_) == is_regular(end)
    ]
    return max(earlier, key=_day, default=None)


async def _earlier(
    session: AsyncSession, start: RoundRef, ids: Iterable[UUID]
) -> dict[UUID, set[str]]:
    """The poor and near-poor classes of each household in rounds of the start round's kind
    before it; an empty set for a household seen there in no such class."""
    wanted = set(ids)
    if not wanted:
        return {}
    before = await _rounds_before(session, start)
    if not before:
        return {}
    c = HouseholdClassification
    history: dict[UUID, set[str]] = {}
    ordered = sorted(wanted)
    for chunk in range(0, len(ordered), _CHUNK):
        query: Any = sql_select(col(c.household_id), col(c.household_class)).where(
            col(c.round_id).in_(before), col(c.household_id).in_(ordered[chunk : chunk + _CHUNK])
        )
        for household_id, household_class in (await session.exec(query)).all():
            classes = history.setdefault(household_id, set())
            if household_class in (POOR, NEAR_POOR):
                classes.add(household_class)
    return history


_CHUNK = 5_000  # ids per IN list: well under every database's limit on bound parameters


async def _registered(session: AsyncSession, ids: set[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    h = HouseholdUnitCopy
    statement = select(h.household_id, h.unit_key).where(col(h.household_id).in_(ids))
    return dict((await session.exec(statement)).all())


__all__ = ["TABLES", "Transitions", "check_order", "previous_round", "table", "transitions"]
