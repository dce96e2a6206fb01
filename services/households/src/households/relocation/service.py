"""Households follow the map: a household registered in a commune that is no longer in force
moves to the commune that took it over, as the crosswalk (`unit_succession`) says.

Where the old commune went whole into one new commune (relation whole, unchanged or renamed),
`carry` moves its households, a batch at a time; where it was split among several, an officer
assigns each household to one of them (`assign`), its village as the hint. Either way the
household gets a new version, an audit entry and a `households.household.updated.v1`; its surveys
keep the communes they were recorded in, so figures as reported stay as they were.

A household is within a caller's reach when the caller's scope covers its old commune or one of
its candidates; the caller moves it only into a commune its scope covers.

Household codes are unique per commune: a carried household whose code is already taken in the
new commune (by a household there, or one carried before it in order of old commune and code)
goes by `<old commune code>-<code>`; when that is taken too, or too long for a code, it is held
for an officer to assign with a code of their choosing.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, func, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from households.household import service as household_service
from households.household.exceptions import HouseholdNotFound
from households.household.models import Household
from households.relocation.exceptions import AlreadyOnTheMap, NoFreeCode, NotACandidate
from households.relocation.schemas import Assignment, WaitingFor
from households.scope import check_commune_in_scope
from households.unit.models import AdminUnit, UnitLevel, UnitSuccession
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit

Old = aliased(AdminUnit, name="old_commune")
New = aliased(AdminUnit, name="new_commune")
CODE_LENGTH = 40  # as HouseholdCreate.household_code
S = TypeVar(
    "S",
    Select[UUID, str, str],
    Select[Household, AdminUnit, AdminUnit, UnitSuccession],
)


@dataclass
class Stranded:
    """A household still in an ended commune, that commune, and its successor communes."""

    household: Household
    commune: AdminUnit
    candidates: list[tuple[AdminUnit, UnitSuccession]] = field(default_factory=list)

    @property
    def waiting_for(self) -> WaitingFor:
        return WaitingFor.carry if len(self.candidates) == 1 else WaitingFor.assignment


@dataclass
class Carried:
    carried: int = 0
    codes_changed: list[tuple[UUID, str, str]] = field(default_factory=list)
    held: list[tuple[UUID, str, str]] = field(default_factory=list)
    remaining: int = 0


def _joined(statement: S, *, on: date) -> S:
    """`statement` over each household still in a commune that ended before `on`, one row per
    successor commune of that commune."""
    return (
        statement.select_from(Household)
        .join(
            Old,
            and_(
                col(Old.code) == col(Household.commune_code),
                col(Old.province_code) == col(Household.province_code),
                # The version the household is in: a new commune has no district ("" here).
                func.coalesce(col(Old.district_code), "") == col(Household.district_code),
                col(Old.level) == UnitLevel.commune,
                col(Old.valid_to) < on,
            ),
        )
        .join(
            UnitSuccession,
            and_(
                col(UnitSuccession.predecessor_code) == col(Old.code),
                col(UnitSuccession.predecessor_valid_from) == col(Old.valid_from),
            ),
        )
        .join(
            New,
            and_(
                col(New.code) == col(UnitSuccession.successor_code),
                col(New.valid_from) == col(UnitSuccession.successor_valid_from),
                col(New.level) == UnitLevel.commune,
            ),
        )
    )


def _covers_candidate(caller: Caller) -> ColumnElement[bool]:
    return in_scope(caller, (New.province_code, New.district_code, New.code))


def _waiting(
    caller: Caller,
    on: date,
    waiting_for: WaitingFor | None,
    *,
    to_move: bool = False,
    into: str | None = None,
) -> Select[UUID, str, str]:
    """(id, old commune code, code) of the households within the caller's reach waiting for
    `waiting_for` (None: either), in order of old commune and code. `to_move`: only those the
    caller may carry, into a candidate its scope covers (and within the unit `into`, if given)."""
    new_columns = (New.province_code, New.district_code, New.code)
    if to_move:
        reach = and_(_covers_candidate(caller), in_unit(into, new_columns) if into else true())
    else:
        reach = or_(
            in_scope(caller, household_service.HOUSEHOLD_COLUMNS), _covers_candidate(caller)
        )
    statement = (
        _joined(select(Household.id, Old.code, Household.household_code), on=on)
        .group_by(col(Household.id), col(Old.code), col(Household.household_code))
        .having(func.max(case((reach, 1), else_=0)) == 1)
    )
    if waiting_for is WaitingFor.carry:
        statement = statement.having(func.count() == 1)
    elif waiting_for is WaitingFor.assignment:
        statement = statement.having(func.count() > 1)
    return statement.order_by(col(Old.code), col(Household.household_code))


async def _load(
    session: AsyncSession, ids: Sequence[UUID], on: date, *, for_update: bool = False
) -> list[Stranded]:
    """The households of `ids` still stranded (locked, `for_update`), in the order of `ids`."""
    statement = _joined(select(Household, Old, New, UnitSuccession), on=on).where(
        col(Household.id).in_(ids)
    )
    if for_update:
        statement = statement.with_for_update(of=Household).execution_options(
            populate_existing=True
        )
    found: dict[UUID, Stranded] = {}
    for household, old, new, succession in await session.exec(statement.order_by(col(New.code))):
        found.setdefault(household.id, Stranded(household, old)).candidates.append(
            (new, succession)
        )
    return [found[household_id] for household_id in ids if household_id in found]


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    waiting_for: WaitingFor | None,
    on: date,
    offset: int,
    limit: int,
) -> tuple[list[Stranded], int]:
    """One page of the households within the caller's reach still in an ended commune."""
    waiting = _waiting(caller, on, waiting_for)
    total = (await session.exec(select(func.count()).select_from(waiting.subquery()))).one()
    page = (await session.exec(waiting.offset(offset).limit(limit))).all()
    return await _load(session, [household_id for household_id, _, _ in page], on), total


async def carry(
    session: AsyncSession, caller: Caller, *, into: str | None, limit: int, on: date
) -> Carried:
    """Move up to `limit` households whose old commune has one successor, which the caller's
    scope covers (and lies within the unit `into`, if given), to that successor."""
    waiting = _waiting(caller, on, WaitingFor.carry, to_move=True, into=into)
    total = (await session.exec(select(func.count()).select_from(waiting.subquery()))).one()
    result = Carried()
    while result.carried < limit:
        # Carried households leave the list and held ones stay, all before the next page.
        page = waiting.offset(len(result.held)).limit(limit - result.carried)
        ids = [household_id for household_id, _, _ in await session.exec(page)]
        if not ids:
            break
        batch = await _load(session, ids, on, for_update=True)
        taken = await _taken(session, batch)
        for stranded in batch:
            await _carry_one(session, stranded, taken, result)
    result.remaining = max(total - result.carried - len(result.held), 0)
    return result


async def _carry_one(
    session: AsyncSession, stranded: Stranded, taken: set[tuple[str, str]], result: Carried
) -> None:
    household, old = stranded.household, stranded.commune
    [(new, _)] = stranded.candidates
    code = _free_code(household.household_code, old, new, taken)
    if code is None:
        prefixed = _prefixed(household.household_code, old)
        also = (
            f"so is {prefixed!r}" if len(prefixed) <= CODE_LENGTH else f"{prefixed!r} is too long"
        )
        reason = f"Its code is taken in commune {new.code}, and {also}: assign it with a new code."
        result.held.append((household.id, household.household_code, reason))
        return
    if code != household.household_code:
        result.codes_changed.append((household.id, household.household_code, code))
    taken.discard((household.commune_code, household.household_code))
    taken.add((new.code, code))
    await household_service.relocate(
        session, household, new, household_code=code, how="carried", from_commune=old
    )
    result.carried += 1


def _prefixed(code: str, old: AdminUnit) -> str:
    return f"{old.code}-{code}"


def _free_code(
    code: str, old: AdminUnit, new: AdminUnit, taken: set[tuple[str, str]]
) -> str | None:
    """The household's code in `new`: its own, else prefixed with its old commune's code; None
    when both are taken (the unique key is on commune code and household code)."""
    if new.code == old.code or (new.code, code) not in taken:
        return code  # a new commune under the old code: the household holds its own pair
    prefixed = _prefixed(code, old)
    if len(prefixed) > CODE_LENGTH or (new.code, prefixed) in taken:
        return None
    return prefixed


async def _taken(session: AsyncSession, batch: Sequence[Stranded]) -> set[tuple[str, str]]:
    """The (commune code, household code) pairs the batch's households could clash with."""
    if not batch:
        return set()
    communes = {new.code for stranded in batch for new, _ in stranded.candidates}
    codes = {stranded.household.household_code for stranded in batch}
    codes |= {_prefixed(stranded.household.household_code, stranded.commune) for stranded in batch}
    statement = select(Household.commune_code, Household.household_code).where(
        col(Household.commune_code).in_(communes), col(Household.household_code).in_(codes)
    )
    return {(commune, code) for commune, code in await session.exec(statement)}


async def get(session: AsyncSession, caller: Caller, household_id: UUID, on: date) -> Stranded:
    """The household as stranded, locked; 404 when outside the caller's reach, 409 when it is
    on the map in force."""
    found = await _load(session, [household_id], on, for_update=True)
    if not found:
        household = await household_service.get(session, household_id)
        if household is None or not caller.may_see(_path(household)):
            raise HouseholdNotFound(household_id)
        raise AlreadyOnTheMap(household)
    [stranded] = found
    reached = caller.may_see(_path(stranded.household)) or any(
        caller.may_see((new.province_code, new.district_code, new.code))
        for new, _ in stranded.candidates
    )
    if not reached:
        raise HouseholdNotFound(household_id)
    return stranded


async def assign(
    session: AsyncSession, caller: Caller, stranded: Stranded, assignment: Assignment
) -> Household:
    """Move the household to the candidate the officer chose."""
    by_code = {new.code: new for new, _ in stranded.candidates}
    commune = by_code.get(assignment.commune_code)
    if commune is None:
        raise NotACandidate(assignment.commune_code, stranded.commune.code, list(by_code))
    check_commune_in_scope(caller, commune, ["body", "commune_code"])
    code = assignment.household_code
    if code is None:
        taken = await _taken(session, [stranded])
        code = _free_code(stranded.household.household_code, stranded.commune, commune, taken)
        if code is None:
            raise NoFreeCode(stranded.household.household_code, commune.code)
    return await household_service.relocate(
        session,
        stranded.household,
        commune,
        household_code=code,
        how="assigned",
        from_commune=stranded.commune,
    )


def _path(household: Household) -> tuple[str, str, str]:
    return household.province_code, household.district_code, household.commune_code
