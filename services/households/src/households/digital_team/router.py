from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from households.digital_team import service as team_service
from households.digital_team.dependencies import (
    CommuneInScope,
    TeamManager,
    TeamReader,
    ValidTeam,
)
from households.digital_team.models import DigitalTeam
from households.digital_team.schemas import (
    TeamCreate,
    TeamList,
    TeamMemberCreate,
    TeamMemberDeactivation,
    TeamMemberRead,
    TeamMemberUpdate,
    TeamRead,
    TeamUpdate,
)
from households.household.dependencies import IfMatch, etag
from households.personal import team_member_for
from kit.auth import Caller
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses
from kit.fields import Offset

MemberId = Annotated[UUID, Path(description="The member's id (listed with the team).")]

router = APIRouter(
    prefix="/api/v1/communes/{code}/digital-teams",
    tags=["digital inclusion"],
    responses=PROBLEM_RESPONSES,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamRead,
    operation_id="createDigitalTeam",
)
async def create_team(
    caller: TeamManager,
    code: CommuneInScope,
    team_in: TeamCreate,
    session: SessionDep,
    response: Response,
) -> TeamRead:
    """Record a community digital technology team (tổ công nghệ số cộng đồng) of the commune;
    send an `Idempotency-Key` to retry safely."""
    team = await team_service.create(session, code, team_in, caller)
    response.headers["ETag"] = etag(team.version)
    [read] = await _teams_for(session, caller, [team])
    return read


@router.get("", response_model=TeamList, operation_id="listDigitalTeams")
async def list_teams(
    caller: TeamReader,
    code: CommuneInScope,
    session: SessionDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TeamList:
    """The commune's digital teams with their members (names, phones and e-mails masked for
    roles that may not read personal data)."""
    teams, total = await team_service.search(session, caller, code, offset=offset, limit=limit)
    items = await _teams_for(session, caller, teams)
    return TeamList(items=items, total=total, offset=offset, limit=limit)


@router.get("/{team_id}", response_model=TeamRead, operation_id="getDigitalTeam")
async def get_team(
    caller: TeamReader, team: ValidTeam, session: SessionDep, response: Response
) -> TeamRead:
    """One team with its members; its ETag is needed to change it."""
    response.headers["ETag"] = etag(team.version)
    [read] = await _teams_for(session, caller, [team])
    return read


@router.patch(
    "/{team_id}",
    response_model=TeamRead,
    responses=problem_responses(412, 428),
    operation_id="updateDigitalTeam",
)
async def update_team(
    caller: TeamManager,
    team: ValidTeam,
    changes: TeamUpdate,
    if_match: IfMatch,
    session: SessionDep,
    response: Response,
) -> TeamRead:
    """Change a team's name, villages or period (send If-Match)."""
    updated = await team_service.update(session, team, changes, if_match=if_match)
    response.headers["ETag"] = etag(updated.version)
    [read] = await _teams_for(session, caller, [updated])
    return read


@router.post(
    "/{team_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamMemberRead,
    operation_id="addDigitalTeamMember",
)
async def add_member(
    caller: TeamManager, team: ValidTeam, member_in: TeamMemberCreate, session: SessionDep
) -> TeamMemberRead:
    """Add a member to the team; support records name the member's id. Send an
    `Idempotency-Key` to retry safely."""
    member = await team_service.add_member(session, team, member_in)
    return team_member_for(caller, member)


@router.patch(
    "/{team_id}/members/{member_id}",
    response_model=TeamMemberRead,
    operation_id="updateDigitalTeamMember",
)
async def update_member(
    caller: TeamManager,
    team: ValidTeam,
    member_id: MemberId,
    changes: TeamMemberUpdate,
    session: SessionDep,
) -> TeamMemberRead:
    """Correct a member's name, role, phone or e-mail."""
    member = await team_service.get_member(session, team, member_id)
    updated = await team_service.update_member(session, team, member, changes)
    return team_member_for(caller, updated)


@router.post(
    "/{team_id}/members/{member_id}/deactivation",
    response_model=TeamMemberRead,
    operation_id="deactivateDigitalTeamMember",
)
async def deactivate_member(
    caller: TeamManager,
    team: ValidTeam,
    member_id: MemberId,
    deactivation: TeamMemberDeactivation,
    session: SessionDep,
) -> TeamMemberRead:
    """The member left the team on `left_on`: the support they gave stays; support dated after
    that day is refused."""
    member = await team_service.get_member(session, team, member_id)
    updated = await team_service.deactivate_member(session, team, member, deactivation)
    return team_member_for(caller, updated)


async def _teams_for(
    session: AsyncSession, caller: Caller, teams: Sequence[DigitalTeam]
) -> list[TeamRead]:
    members = await team_service.members_of(session, [team.id for team in teams])
    return [
        TeamRead.model_validate(
            team.model_dump() | {"members": [team_member_for(caller, m) for m in members[team.id]]}
        )
        for team in teams
    ]
