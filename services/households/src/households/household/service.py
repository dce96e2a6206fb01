"""Household registry and survey entry: the rules of data entry live here, never in routers."""

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.conflict import service as conflict_service
from households.db import outbox
from households.household import events
from households.household.exceptions import HouseholdCodeTaken
from households.household.models import Assessment, Household
from households.household.schemas import HouseholdCreate, HouseholdUpdate
from households.scope import check_commune_in_scope
from households.unit import service as unit_service
from households.unit.models import AdminUnit
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.db import utc_now
from kit.errors import (
    Conflict,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
)
from kit.messaging import stage


async def get(
    session: AsyncSession, household_id: UUID, *, for_update: bool = False
) -> Household | None:
    return await session.get(Household, household_id, with_for_update=for_update)


HOUSEHOLD_COLUMNS = (Household.province_code, Household.district_code, Household.commune_code)


async def register(
    session: AsyncSession, household_in: HouseholdCreate, caller: Caller
) -> Household:
    """Register a household in a commune of the caller's scope."""
    commune = await _commune(session, household_in.commune_code, on=None)
    check_commune_in_scope(caller, commune, ["body", "commune_code"])
    taken = select(func.count()).where(
        Household.commune_code == commune.code,
        Household.household_code == household_in.household_code,
    )
    if (await session.exec(taken)).one():
        raise HouseholdCodeTaken(household_in.household_code, commune.code)
    household = Household(
        **household_in.model_dump(),
        province_code=commune.province_code,
        district_code=commune.district_code or "",
    )
    session.add(household)
    await _flush_or_conflict(session, HouseholdCodeTaken(household_in.household_code, commune.code))
    await stage(session, outbox, events.household_registered(household))
    audit.record(
        session,
        "household.registered",
        unit=_unit_of(household),
        household_id=household.id,
        changes=audit.changes_between({}, _registry_facts(household)),
    )
    return household


async def update(
    session: AsyncSession,
    household: Household,
    changes: HouseholdUpdate,
    caller: Caller,
    *,
    if_match: int | None,
) -> Household:
    """Change a household's registry facts; `if_match` must be its current version."""
    check_version(household.version, if_match)
    before = _registry_facts(household)
    values = changes.model_dump(exclude_unset=True)
    if "commune_code" in values:
        commune = await _commune(session, values["commune_code"], on=None)
        check_commune_in_scope(caller, commune, ["body", "commune_code"])
        household.province_code = commune.province_code
        household.district_code = commune.district_code or ""
    for field, value in values.items():
        setattr(household, field, value)
    household.version += 1
    household.updated_at = utc_now()
    # Moved into a commune (of the caller's scope) where its code is taken.
    await _flush_or_conflict(
        session, HouseholdCodeTaken(household.household_code, household.commune_code)
    )
    if "commune_code" in values:
        await conflict_service.household_moved(session, household)
    await stage(session, outbox, events.household_registered(household))
    audit.record(
        session,
        "household.updated",
        unit=_unit_of(household),
        household_id=household.id,
        changes=audit.changes_between(before, _registry_facts(household)),
    )
    return household


async def relocate(
    session: AsyncSession,
    household: Household,
    commune: AdminUnit,
    *,
    household_code: str,
    how: str,
    from_commune: AdminUnit,
) -> Household:
    """Register `household` in `commune` of the new map (under `household_code`), as the
    crosswalk from `from_commune` says (`how`: carried or assigned): a new version, published and
    audited like any change of commune. Its surveys keep the communes they were recorded in."""
    before = _registry_facts(household)
    household.commune_code = commune.code
    household.province_code = commune.province_code
    household.district_code = commune.district_code or ""
    household.household_code = household_code
    household.version += 1
    household.updated_at = utc_now()
    await _flush_or_conflict(session, HouseholdCodeTaken(household_code, commune.code))
    await conflict_service.household_moved(session, household)
    await stage(session, outbox, events.household_registered(household))
    audit.record(
        session,
        "household.relocated",
        unit=_unit_of(household),
        household_id=household.id,
        changes=audit.changes_between(before, _registry_facts(household))
        | {
            "relocation": how,
            "from": {
                "commune_code": from_commune.code,
                "unit_path": unit_service.path_codes(from_commune),
                "valid_to": str(from_commune.valid_to),
            },
        },
    )
    return household


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    unit_code: str | None,
    round_id: UUID | None,
    village: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Household], int]:
    statement = select(Household).where(in_scope(caller, HOUSEHOLD_COLUMNS))
    if unit_code is not None:
        statement = statement.where(in_unit(unit_code, HOUSEHOLD_COLUMNS))
    if village is not None:
        statement = statement.where(Household.village == village)
    if round_id is not None:
        surveyed = select(Assessment.household_id).where(Assessment.round_id == round_id)
        statement = statement.where(col(Household.id).in_(surveyed))
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    order = (col(Household.household_code), col(Household.commune_code))
    page = statement.order_by(*order).offset(offset).limit(limit)
    return (await session.exec(page)).all(), total


async def get_assessment(
    session: AsyncSession, household_id: UUID, round_id: UUID, *, for_update: bool = False
) -> Assessment | None:
    statement = select(Assessment).where(
        Assessment.household_id == household_id, Assessment.round_id == round_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).one_or_none()


async def search_assessments(
    session: AsyncSession,
    caller: Caller,
    *,
    round_id: UUID,
    unit_code: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Assessment], int]:
    statement = select(Assessment).where(Assessment.round_id == round_id)
    visible = select(Household.id).where(in_scope(caller, HOUSEHOLD_COLUMNS))
    if unit_code is not None:
        visible = visible.where(in_unit(unit_code, HOUSEHOLD_COLUMNS))
    if caller.unit_scope is not None or unit_code is not None:
        statement = statement.where(col(Assessment.household_id).in_(visible))
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(Assessment.created_at), col(Assessment.id))
    return (await session.exec(page.offset(offset).limit(limit))).all(), total


def check_version(current: int, if_match: int | None) -> None:
    if if_match is None:
        raise PreconditionRequired("Send If-Match with the ETag you read to change this.")
    if if_match != current:
        raise PreconditionFailed(
            f"It was changed by someone else (version {current}, you sent {if_match}): "
            "read it again and reapply your change."
        )


async def _commune(session: AsyncSession, code: str, *, on: date | None) -> AdminUnit:
    commune = await unit_service.get_commune(session, code, on=on)
    if commune is None or commune.area is None:
        message = await unit_service.no_commune(session, code, on=on)
        raise InvalidInput.field(["body", "commune_code"], message)
    return commune


def _unit_of(household: Household) -> tuple[str, str, str]:
    return household.province_code, household.district_code, household.commune_code


def _registry_facts(household: Household) -> dict[str, object]:
    return household.model_dump(include=set(HouseholdCreate.model_fields))


async def _flush_or_conflict(session: AsyncSession, conflict: Conflict) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        raise conflict from error
