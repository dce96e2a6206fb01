from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.conflict import service as conflict_service
from households.household import service as household_service
from households.household import surveys
from households.household.dependencies import (
    HouseholdReader,
    HouseholdWriter,
    IfMatch,
    ValidHousehold,
    etag,
)
from households.household.exceptions import AssessmentNotFound
from households.household.models import Assessment
from households.household.schemas import (
    AssessmentInput,
    AssessmentList,
    AssessmentRead,
    HouseholdCreate,
    HouseholdList,
    HouseholdRead,
    HouseholdUpdate,
)
from households.personal import assessment_for, household_for
from households.round.dependencies import ValidRound, valid_round
from kit.auth import Caller
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses
from kit.fields import Offset, Text

router = APIRouter(tags=["households"], responses=PROBLEM_RESPONSES)

UnitCode = Annotated[
    str | None,
    Query(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$", description="Province, district or commune"),
]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post(
    "/api/v1/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    responses=problem_responses(409),
)
async def register_household(
    caller: HouseholdWriter, household_in: HouseholdCreate, session: SessionDep, response: Response
) -> HouseholdRead:
    """Register a household in a commune of the caller's scope."""
    household = await household_service.register(session, household_in, caller)
    response.headers["ETag"] = etag(household.version)
    return household_for(caller, household)


@router.get("/api/v1/households", response_model=HouseholdList)
async def list_households(
    caller: HouseholdReader,
    session: SessionDep,
    unit_code: UnitCode = None,
    round_id: UUID | None = None,
    village: Annotated[
        Text | None,
        Query(
            max_length=120,
            description="Only households of this village or residential group (thôn, tổ dân "
            "phố), as registered.",
        ),
    ] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> HouseholdList:
    """List the households of the caller's scope, within a unit (any level) if given, optionally
    only those surveyed in a round. Each list is recorded in the audit log."""
    items, total = await household_service.search(
        session,
        caller,
        unit_code=unit_code,
        round_id=round_id,
        village=village,
        offset=offset,
        limit=limit,
    )
    audit.record_bulk_read(
        session,
        "households.listed",
        caller,
        unit_code=unit_code,
        query={"round_id": str(round_id) if round_id else None, "village": village},
        rows=len(items),
    )
    return HouseholdList(
        items=[household_for(caller, household) for household in items],
        total=total,
        offset=offset,
        limit=limit,
    )


# `:uuid`: `/api/v1/households/relocations` (the relocation router's) is no household id, so
# methods it does not serve answer 405 there rather than "household_id is not a UUID".
@router.get("/api/v1/households/{household_id:uuid}", response_model=HouseholdRead)
async def get_household(
    caller: HouseholdReader, household: ValidHousehold, response: Response
) -> HouseholdRead:
    """Get one household; its ETag is needed to change it."""
    response.headers["ETag"] = etag(household.version)
    return household_for(caller, household)


@router.patch(
    "/api/v1/households/{household_id:uuid}",
    response_model=HouseholdRead,
    responses=problem_responses(412, 428),
)
async def update_household(
    caller: HouseholdWriter,
    household: ValidHousehold,
    changes: HouseholdUpdate,
    if_match: IfMatch,
    session: SessionDep,
    response: Response,
) -> HouseholdRead:
    """Change a household's registry facts (send If-Match)."""
    updated = await household_service.update(session, household, changes, caller, if_match=if_match)
    response.headers["ETag"] = etag(updated.version)
    return household_for(caller, updated)


@router.put(
    "/api/v1/households/{household_id}/assessments/{round_id}",
    response_model=AssessmentRead,
    responses=problem_responses(409, 412, 428) | {201: {"model": AssessmentRead}},
)
async def record_assessment(
    caller: HouseholdWriter,
    household: ValidHousehold,
    review_round: ValidRound,
    assessment_in: AssessmentInput,
    if_match: IfMatch,
    session: SessionDep,
    response: Response,
) -> AssessmentRead:
    """Record the household's survey in a round (201 when new; If-Match to replace)."""
    recorded = await surveys.record_one(
        session, household, review_round, assessment_in, caller=caller, if_match=if_match
    )
    response.status_code = status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK
    response.headers["ETag"] = etag(recorded.assessment.version)
    [read] = await _assessments_for(session, caller, [recorded.assessment])
    return read


@router.get(
    "/api/v1/households/{household_id}/assessments/{round_id}", response_model=AssessmentRead
)
async def get_assessment(
    caller: HouseholdReader,
    household: ValidHousehold,
    review_round: ValidRound,
    session: SessionDep,
    response: Response,
) -> AssessmentRead:
    """Get the household's survey in a round."""
    assessment = await household_service.get_assessment(session, household.id, review_round.id)
    if assessment is None:
        raise AssessmentNotFound(household.id, review_round.id)
    response.headers["ETag"] = etag(assessment.version)
    [read] = await _assessments_for(session, caller, [assessment])
    return read


@router.get("/api/v1/assessments", response_model=AssessmentList)
async def list_assessments(
    caller: HouseholdReader,
    session: SessionDep,
    round_id: UUID,
    unit_code: UnitCode = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AssessmentList:
    """List the surveys of a round in the caller's scope, optionally within a unit. Each list is
    recorded in the audit log."""
    await valid_round(round_id, session)
    items, total = await household_service.search_assessments(
        session, caller, round_id=round_id, unit_code=unit_code, offset=offset, limit=limit
    )
    audit.record_bulk_read(
        session,
        "assessments.listed",
        caller,
        unit_code=unit_code,
        query={"round_id": str(round_id)},
        rows=len(items),
    )
    return AssessmentList(
        items=await _assessments_for(session, caller, items),
        total=total,
        offset=offset,
        limit=limit,
    )


async def _assessments_for(
    session: AsyncSession, caller: Caller, assessments: Sequence[Assessment]
) -> list[AssessmentRead]:
    """The surveys as the caller may read them, each with why it needs review, if it does."""
    reviews = await conflict_service.reviews(session, assessments)
    return [
        assessment_for(caller, assessment).model_copy(update={"review": reviews.get(assessment.id)})
        for assessment in assessments
    ]
