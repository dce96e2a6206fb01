"""Digital teams and their members: kept by the officers of a commune (or above it), audited.

A team is filed under the commune version it was created in (province and district codes with
it), so the unit scope of every read is a plain filter, as for households.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.digital_team.exceptions import MemberNotFound, TeamNotFound
from households.digital_team.models import DigitalTeam, TeamMember
from households.digital_team.schemas import (
    TeamCreate,
    TeamMemberCreate,
    TeamMemberDeactivation,
    TeamMemberUpdate,
    TeamUpdate,
)
from households.household import service as household_service
from households.unit import service as unit_service
from households.unit.models import AdminUnit, UnitLevel
from kit.auth import Caller
from kit.auth.scope import in_scope
from kit.db import utc_now
from kit.errors import InvalidInput

TEAM_COLUMNS = (DigitalTeam.province_code, DigitalTeam.district_code, DigitalTeam.commune_code)
TEAM_FACTS = ("name", "villages", "active_from", "active_to")
MEMBER_FACTS = ("full_name", "role", "phone", "email", "active", "left_on")


async def commune_versions(session: AsyncSession, code: str, caller: Caller) -> list[AdminUnit]:
    """The versions of commune `code` (codes are reused across reforms) the caller may see."""
    statement = select(AdminUnit).where(
        AdminUnit.code == code, AdminUnit.level == UnitLevel.commune
    )
    units = (await session.exec(statement.order_by(col(AdminUnit.valid_from)))).all()
    return [u for u in units if caller.may_see((u.province_code, u.district_code, u.code))]


async def create(
    session: AsyncSession, code: str, team_in: TeamCreate, caller: Caller
) -> DigitalTeam:
    """A team of commune `code` as in force on the team's first day (422 naming `active_from`
    otherwise); the API found the commune in the caller's scope."""
    commune = await unit_service.get_commune(session, code, on=team_in.active_from)
    if commune is None or not caller.may_see(
        (commune.province_code, commune.district_code, commune.code)
    ):
        message = await unit_service.no_commune(session, code, on=team_in.active_from)
        raise InvalidInput.field(["body", "active_from"], message)
    team = DigitalTeam(
        **team_in.model_dump(),
        commune_code=commune.code,
        province_code=commune.province_code,
        district_code=commune.district_code or "",
    )
    session.add(team)
    await session.flush()
    _audit(session, team, "digital_team.created", audit.changes_between({}, _facts(team)))
    return team


async def search(
    session: AsyncSession, caller: Caller, code: str, *, offset: int, limit: int
) -> tuple[Sequence[DigitalTeam], int]:
    statement = select(DigitalTeam).where(
        DigitalTeam.commune_code == code, in_scope(caller, TEAM_COLUMNS)
    )
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(DigitalTeam.created_at), col(DigitalTeam.id))
    return (await session.exec(page.offset(offset).limit(limit))).all(), total


async def get(session: AsyncSession, caller: Caller, code: str, team_id: UUID) -> DigitalTeam:
    """The team of commune `code`, or 404 (also outside the caller's scope)."""
    statement = select(DigitalTeam).where(
        DigitalTeam.id == team_id,
        DigitalTeam.commune_code == code,
        in_scope(caller, TEAM_COLUMNS),
    )
    team = (await session.exec(statement)).first()
    if team is None:
        raise TeamNotFound(team_id)
    return team


async def members_of(
    session: AsyncSession, team_ids: Sequence[UUID]
) -> dict[UUID, list[TeamMember]]:
    found: dict[UUID, list[TeamMember]] = {team_id: [] for team_id in team_ids}
    if not team_ids:
        return found
    statement = (
        select(TeamMember)
        .where(col(TeamMember.team_id).in_(team_ids))
        .order_by(col(TeamMember.active).desc(), col(TeamMember.created_at), col(TeamMember.id))
    )
    for member in await session.exec(statement):
        found[member.team_id].append(member)
    return found


async def update(
    session: AsyncSession, team: DigitalTeam, changes: TeamUpdate, *, if_match: int | None
) -> DigitalTeam:
    household_service.check_version(team.version, if_match)
    before = _facts(team)
    values = changes.model_dump(exclude_unset=True)
    for required in ("name", "villages", "active_from"):
        if required in values and values[required] is None:
            message = f"{required} cannot be null: leave it out to keep it."
            raise InvalidInput.field(["body", required], message)
    active_from = values.get("active_from", team.active_from)
    active_to = values.get("active_to", team.active_to)
    if active_to is not None and active_to < active_from:
        raise InvalidInput.field(["body", "active_to"], "active_to is before active_from.")
    for name, value in values.items():
        setattr(team, name, value)
    team.version += 1
    team.updated_at = utc_now()
    await session.flush()
    _audit(session, team, "digital_team.updated", audit.changes_between(before, _facts(team)))
    return team


async def add_member(
    session: AsyncSession, team: DigitalTeam, member_in: TeamMemberCreate
) -> TeamMember:
    member = TeamMember(**member_in.model_dump(), team_id=team.id)
    session.add(member)
    await session.flush()
    changes = audit.changes_between({}, _member_facts(member)) | {"member_id": str(member.id)}
    _audit(session, team, "digital_team.member_added", changes)
    return member


async def get_member(session: AsyncSession, team: DigitalTeam, member_id: UUID) -> TeamMember:
    member = await session.get(TeamMember, member_id)
    if member is None or member.team_id != team.id:
        raise MemberNotFound(member_id)
    return member


async def update_member(
    session: AsyncSession, team: DigitalTeam, member: TeamMember, changes: TeamMemberUpdate
) -> TeamMember:
    before = _member_facts(member)
    values = changes.model_dump(exclude_unset=True)
    for required in ("full_name", "role"):
        if required in values and values[required] is None:
            raise InvalidInput.field(["body", required], f"{required} cannot be null.")
    for name, value in values.items():
        setattr(member, name, value)
    member.updated_at = utc_now()
    await session.flush()
    changes_made = audit.changes_between(before, _member_facts(member))
    _audit(
        session, team, "digital_team.member_updated", changes_made | {"member_id": str(member.id)}
    )
    return member


async def deactivate_member(
    session: AsyncSession,
    team: DigitalTeam,
    member: TeamMember,
    deactivation: TeamMemberDeactivation,
) -> TeamMember:
    """The member leaves the team on `left_on`: support they gave before stays, support dated
    after it is refused. Deactivating again corrects the day."""
    before = _member_facts(member)
    member.active = False
    member.left_on = deactivation.left_on
    member.updated_at = utc_now()
    await session.flush()
    changes = audit.changes_between(before, _member_facts(member)) | {"member_id": str(member.id)}
    _audit(session, team, "digital_team.member_deactivated", changes)
    return member


def _facts(team: DigitalTeam) -> dict[str, Any]:
    return team.model_dump(mode="json", include=set(TEAM_FACTS))


def _member_facts(member: TeamMember) -> dict[str, Any]:
    return member.model_dump(mode="json", include=set(MEMBER_FACTS))


def _audit(session: AsyncSession, team: DigitalTeam, action: str, changes: dict[str, Any]) -> None:
    audit.record(
        session,
        action,
        unit=(team.province_code, team.district_code, team.commune_code),
        changes=changes | {"team_id": str(team.id)},
    )
