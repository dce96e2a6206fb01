from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.digital_team.dependencies import CommuneInScope
from households.household.dependencies import HouseholdReader, HouseholdWriter, ValidHousehold
from households.personal import support_for
from households.support import service as support_service
from households.support.schemas import SupportInput, SupportList, SupportRead, WithdrawalInput
from kit.auth import Caller
from kit.contracts.households import SupportKind
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses
from kit.fields import IsoDate, Offset

router = APIRouter(tags=["digital inclusion"], responses=PROBLEM_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500)]
Kind = Annotated[SupportKind | None, Query(description="Only records of this kind.")]
GivenFrom = Annotated[IsoDate | None, Query(description="Only support given on or after this day.")]
GivenUntil = Annotated[
    IsoDate | None, Query(description="Only support given on or before this day.")
]


@router.post(
    "/api/v1/households/{household_id}/support",
    status_code=status.HTTP_201_CREATED,
    response_model=SupportRead,
    operation_id="recordSupport",
)
async def record_support(
    caller: HouseholdWriter,
    household: ValidHousehold,
    support_in: SupportInput,
    session: SessionDep,
) -> SupportRead:
    """Record support a digital team member gave the household (a smartphone given, months of
    internet subscription, training, help with the electronic identity or an online public
    service); send an `Idempotency-Key` to retry safely. 404 outside your scope; 422 naming
    `given_on` (in the future, before the household's registration, outside the team's period)
    or `member_id` (not of a team of the household's commune, or left before that day)."""
    record = await support_service.record_one(session, caller, household, support_in)
    return support_for(caller, record, household.household_code)


@router.get(
    "/api/v1/households/{household_id}/support",
    response_model=SupportList,
    operation_id="listHouseholdSupport",
)
async def list_household_support(
    caller: HouseholdReader,
    household: ValidHousehold,
    session: SessionDep,
    kind: Kind = None,
    given_from: GivenFrom = None,
    given_until: GivenUntil = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> SupportList:
    """The support recorded for the household, withdrawn records included, newest first."""
    return await _list(
        session,
        caller,
        household_id=household.id,
        commune_code=None,
        filters=support_service.Filters(kind, given_from, given_until),
        offset=offset,
        limit=limit,
    )


@router.post(
    "/api/v1/households/{household_id}/support/{support_id}/withdrawal",
    response_model=SupportRead,
    responses=problem_responses(409),
    operation_id="withdrawSupport",
)
async def withdraw_support(
    caller: HouseholdWriter,
    household: ValidHousehold,
    support_id: Annotated[
        UUID, Path(description="The support record's id (listed with the household's support).")
    ],
    withdrawal: WithdrawalInput,
    session: SessionDep,
) -> SupportRead:
    """Withdraw a support record entered in error, with the reason: it stays visible, marked,
    and no longer counts as help given. 409 if it was withdrawn already."""
    record = await support_service.withdraw(session, household, support_id, withdrawal.reason)
    return support_for(caller, record, household.household_code)


@router.get(
    "/api/v1/communes/{code}/support",
    response_model=SupportList,
    operation_id="listCommuneSupport",
)
async def list_commune_support(
    caller: HouseholdReader,
    code: CommuneInScope,
    session: SessionDep,
    kind: Kind = None,
    given_from: GivenFrom = None,
    given_until: GivenUntil = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> SupportList:
    """The support recorded in the commune within your scope, newest first. Each list is
    recorded in the audit log."""
    listed = await _list(
        session,
        caller,
        household_id=None,
        commune_code=code,
        filters=support_service.Filters(kind, given_from, given_until),
        offset=offset,
        limit=limit,
    )
    audit.record_bulk_read(
        session,
        "support.listed",
        caller,
        unit_code=code,
        query={
            "kind": kind.value if kind else None,
            "given_from": given_from.isoformat() if given_from else None,
            "given_until": given_until.isoformat() if given_until else None,
        },
        rows=len(listed.items),
    )
    return listed


async def _list(
    session: AsyncSession,
    caller: Caller,
    *,
    household_id: UUID | None,
    commune_code: str | None,
    filters: support_service.Filters,
    offset: int,
    limit: int,
) -> SupportList:
    rows, total = await support_service.search(
        session,
        caller,
        filters,
        household_id=household_id,
        commune_code=commune_code,
        offset=offset,
        limit=limit,
    )
    return SupportList(
        items=[support_for(caller, record, code) for record, code in rows],
        total=total,
        offset=offset,
        limit=limit,
    )
