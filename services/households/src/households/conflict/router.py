from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.conflict import service as conflict_service
from households.conflict.exceptions import ConflictNotFound, NotAParty
from households.conflict.models import NationalIdConflict
from households.conflict.schemas import ConflictList, ConflictParty, ConflictRead, Resolution
from households.household.models import Assessment
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses
from kit.fields import Offset

router = APIRouter(
    prefix="/api/v1/assessments/conflicts", tags=["conflicts"], responses=PROBLEM_RESPONSES
)
ConflictResolver = Annotated[Caller, requires(Permission.CONFLICTS_RESOLVE)]


@router.get("", response_model=ConflictList)
async def list_conflicts(
    caller: ConflictResolver,
    session: SessionDep,
    round_id: UUID | None = None,
    open_only: Annotated[bool, Query(description="Only those not resolved yet.")] = True,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ConflictList:
    """National IDs recorded in two households' surveys of a round, for supervisors whose scope
    covers both households, oldest first."""
    items, total = await conflict_service.search(
        session, caller, round_id=round_id, open_only=open_only, offset=offset, limit=limit
    )
    return ConflictList(items=await _reads(session, items), total=total, offset=offset, limit=limit)


@router.post(
    "/{conflict_id}/resolution", response_model=ConflictRead, responses=problem_responses(422)
)
async def resolve_conflict(
    caller: ConflictResolver, conflict_id: UUID, resolution: Resolution, session: SessionDep
) -> ConflictRead:
    """Say which household keeps the person; the other household's survey must be corrected."""
    conflict = await conflict_service.get(session, caller, conflict_id)
    if conflict is None:
        raise ConflictNotFound(conflict_id)
    parties = (conflict.holder_household_id, conflict.claimant_household_id)
    if resolution.kept_household_id not in parties:
        raise NotAParty(resolution.kept_household_id)
    await conflict_service.resolve(session, conflict, resolution.kept_household_id)
    [read] = await _reads(session, [conflict])
    return read


async def _reads(
    session: AsyncSession, conflicts: Sequence[NationalIdConflict]
) -> list[ConflictRead]:
    ids = {id_ for c in conflicts for id_ in (c.holder_id, c.claimant_id)}
    surveys = await session.exec(select(Assessment).where(col(Assessment.id).in_(ids)))
    members = {assessment.id: assessment.members for assessment in surveys}

    def party(assessment_id: UUID, household_id: UUID, commune: str, hashed: str) -> ConflictParty:
        return ConflictParty(
            household_id=household_id,
            assessment_id=assessment_id,
            commune_code=commune,
            member_no=conflict_service.member_no(members.get(assessment_id, []), hashed),
        )

    return [
        ConflictRead(
            id=c.id,
            round_id=c.round_id,
            holder=party(
                c.holder_id, c.holder_household_id, c.holder_commune_code, c.national_id_hash
            ),
            claimant=party(
                c.claimant_id, c.claimant_household_id, c.claimant_commune_code, c.national_id_hash
            ),
            opened_at=c.opened_at,
            resolved_at=c.resolved_at,
            resolved_by=c.resolved_by,
            kept_household_id=c.kept_household_id,
        )
        for c in conflicts
    ]
