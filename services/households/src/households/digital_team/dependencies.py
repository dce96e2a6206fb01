from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path

from households.digital_team import service as team_service
from households.digital_team.exceptions import CommuneNotFound
from households.digital_team.models import DigitalTeam
from kit.auth import Caller, CallerDep, Permission, requires
from kit.db import SessionDep

TeamReader = Annotated[Caller, requires(Permission.HOUSEHOLDS_READ)]
TeamManager = Annotated[Caller, requires(Permission.DIGITAL_TEAMS_MANAGE)]


async def commune_code_in_scope(
    code: Annotated[str, Path(pattern=r"^[0-9]{5}$", description="The commune's code.")],
    session: SessionDep,
    caller: CallerDep,
) -> str:
    """The commune code of the path if a commune of that code (on any map: codes are reused)
    lies in the caller's scope; else 404."""
    if not await team_service.commune_versions(session, code, caller):
        raise CommuneNotFound(code)
    return code


CommuneInScope = Annotated[str, Depends(commune_code_in_scope)]


async def valid_team(
    team_id: Annotated[UUID, Path(description="The team's id (listed with the commune's teams).")],
    code: CommuneInScope,
    session: SessionDep,
    caller: CallerDep,
) -> DigitalTeam:
    """The team of the path's commune, or 404 (also outside the caller's scope)."""
    return await team_service.get(session, caller, code, team_id)


ValidTeam = Annotated[DigitalTeam, Depends(valid_team)]
