from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from households.household import service as household_service
from households.household.dependencies import IfMatch, ValidHousehold, etag
from households.household.exceptions import AssessmentNotFound
from households.household.models import Assessment, Household
from households.household.schemas import (
    AssessmentInput,
    AssessmentList,
    AssessmentRead,
    HouseholdCreate,
    HouseholdList,
    HouseholdRead,
    HouseholdUpdate,
)
from households.round.dependencies import ValidRound, valid_round
from kit.db import SessionDep
from kit.errors import problem_responses

router = APIRouter(tags=["households"], responses=problem_responses(404, 422))

UnitCode = Annotated[
    str | None, Query(pattern=r"^(\d{2}|\d{3}|\d{5})$", description="Province, district or commune")
]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post(
    "/api/v1/households",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    responses=problem_responses(409),
)
async def register_household(
    household_in: HouseholdCreate, session: SessionDep, response: Response
) -> Household:
    """Register a household in a commune."""
    household = await household_service.register(session, household_in)
    response.headers["ETag"] = etag(household.version)
    return household


@router.get("/api/v1/households", response_model=HouseholdList)
async def list_households(
    session: SessionDep,
    unit_code: UnitCode = None,
    round_id: UUID | None = None,
    village: str | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> HouseholdList:
    """List households of a unit (any level), optionally only those surveyed in a round."""
    items, total = await household_service.search(
        session,
        unit_code=unit_code,
        round_id=round_id,
        village=village,
        offset=offset,
        limit=limit,
    )
    return HouseholdList(
        items=[HouseholdRead.model_validate(h) for h in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/api/v1/households/{household_id}", response_model=HouseholdRead)
async def get_household(household: ValidHousehold, response: Response) -> Household:
    """Get one household; its ETag is needed to change it."""
    response.headers["ETag"] = etag(household.version)
    return household


@router.patch(
    "/api/v1/households/{household_id}",
    response_model=HouseholdRead,
    responses=problem_responses(412, 428),
)
async def update_household(
    household: ValidHousehold,
    changes: HouseholdUpdate,
    if_match: IfMatch,
    session: SessionDep,
    response: Response,
) -> Household:
    """Change a household's registry facts (send If-Match)."""
    updated = await household_service.update(session, household, changes, if_match=if_match)
    response.headers["ETag"] = etag(updated.version)
    return updated


@router.put(
    "/api/v1/households/{household_id}/assessments/{round_id}",
    response_model=AssessmentRead,
    responses=problem_responses(409, 412, 428) | {201: {"model": AssessmentRead}},
)
async def record_assessment(
    household: ValidHousehold,
    review_round: ValidRound,
    assessment_in: AssessmentInput,
    if_match: IfMatch,
    session: SessionDep,
    response: Response,
) -> Assessment:
    """Record the household's survey in a round (201 when new; If-Match to replace)."""
    assessment, created = await household_service.record_assessment(
        session, household, review_round, assessment_in, if_match=if_match
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    response.headers["ETag"] = etag(assessment.version)
    return assessment


@router.get(
    "/api/v1/households/{household_id}/assessments/{round_id}", response_model=AssessmentRead
)
async def get_assessment(
    household: ValidHousehold, review_round: ValidRound, session: SessionDep, response: Response
) -> Assessment:
    """Get the household's survey in a round."""
    assessment = await household_service.get_assessment(session, household.id, review_round.id)
    if assessment is None:
        raise AssessmentNotFound(household.id, review_round.id)
    response.headers["ETag"] = etag(assessment.version)
    return assessment


@router.get("/api/v1/assessments", response_model=AssessmentList)
async def list_assessments(
    session: SessionDep,
    round_id: UUID,
    unit_code: UnitCode = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AssessmentList:
    """List the surveys of a round, optionally within a unit."""
    await valid_round(round_id, session)
    items, total = await household_service.search_assessments(
        session, round_id=round_id, unit_code=unit_code, offset=offset, limit=limit
    )
    return AssessmentList(
        items=[AssessmentRead.model_validate(a, from_attributes=True) for a in items],
        total=total,
        offset=offset,
        limit=limit,
    )
