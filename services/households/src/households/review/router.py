from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, status

from households.review import service as review_service
from households.review.dependencies import CommuneInScope, ProvinceInScope, ReviewRules
from households.review.schemas import (
    CommuneReviewRead,
    MeetingInput,
    MeetingList,
    MeetingRead,
    ObjectionInput,
    ObjectionList,
    ObjectionRead,
    ProvinceApprovalRead,
    RecheckInput,
    ReopenInput,
    StepInput,
)
from households.round.dependencies import ValidRound
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses

router = APIRouter(
    prefix="/api/v1/rounds/{round_id}", tags=["reviews"], responses=PROBLEM_RESPONSES
)
ReviewReader = Annotated[Caller, requires(Permission.REVIEWS_READ)]
ReviewRecorder = Annotated[Caller, requires(Permission.REVIEWS_RECORD)]
# Every step needs this; the step to `approved` also needs REVIEWS_RECOGNISE (service.STEPS).
ReviewMover = Annotated[Caller, requires(Permission.REVIEWS_ADVANCE)]
ReviewReopener = Annotated[Caller, requires(Permission.REVIEWS_REOPEN)]
ProvinceApprover = Annotated[Caller, requires(Permission.REVIEWS_APPROVE_PROVINCE)]
CONFLICT = problem_responses(409)


@router.get("/communes/{code}/review", response_model=CommuneReviewRead)
async def get_review(
    caller: ReviewReader, review_round: ValidRound, commune: CommuneInScope, session: SessionDep
) -> CommuneReviewRead:
    """Where the commune's review in the round stands, the steps open to it, and its history."""
    return await review_service.read(session, review_round, commune)


@router.post("/communes/{code}/review/steps", response_model=CommuneReviewRead, responses=CONFLICT)
async def move_review(
    caller: ReviewMover,
    review_round: ValidRound,
    commune: CommuneInScope,
    step_in: StepInput,
    rules: ReviewRules,
    session: SessionDep,
) -> CommuneReviewRead:
    """Move the commune's review one step (`open → surveyed → posted → approved`); 409 names the
    current state and the steps allowed from it, or the precondition that does not hold."""
    return await review_service.move(session, review_round, commune, step_in, caller, rules)


@router.post("/communes/{code}/review/reopen", response_model=CommuneReviewRead, responses=CONFLICT)
async def reopen_review(
    caller: ReviewReopener,
    review_round: ValidRound,
    commune: CommuneInScope,
    reopen_in: ReopenInput,
    session: SessionDep,
) -> CommuneReviewRead:
    """Reopen the commune's approved review, giving the reason (audited, and published)."""
    return await review_service.reopen(session, review_round, commune, reopen_in, caller)


@router.post(
    "/communes/{code}/meetings",
    status_code=status.HTTP_201_CREATED,
    response_model=MeetingRead,
    responses=CONFLICT,
)
async def record_meeting(
    caller: ReviewRecorder,
    review_round: ValidRound,
    commune: CommuneInScope,
    meeting_in: MeetingInput,
    rules: ReviewRules,
    session: SessionDep,
) -> MeetingRead:
    """Record a village meeting: attendance, and how many agreed on each surveyed household."""
    return await review_service.record_meeting(
        session, review_round, commune, meeting_in, caller, rules
    )


@router.get("/communes/{code}/meetings", response_model=MeetingList)
async def list_meetings(
    caller: ReviewReader,
    review_round: ValidRound,
    commune: CommuneInScope,
    rules: ReviewRules,
    session: SessionDep,
) -> MeetingList:
    """The commune's village meetings, and the households needing a re-survey or a meeting."""
    return await review_service.list_meetings(session, review_round, commune, rules)


@router.post(
    "/communes/{code}/objections",
    status_code=status.HTTP_201_CREATED,
    response_model=ObjectionRead,
    responses=CONFLICT,
)
async def lodge_objection(
    caller: ReviewRecorder,
    review_round: ValidRound,
    commune: CommuneInScope,
    objection_in: ObjectionInput,
    session: SessionDep,
) -> ObjectionRead:
    """Record an objection to a household's result lodged during the public posting."""
    return await review_service.lodge_objection(
        session, review_round, commune, objection_in, caller
    )


@router.get("/communes/{code}/objections", response_model=ObjectionList)
async def list_objections(
    caller: ReviewReader, review_round: ValidRound, commune: CommuneInScope, session: SessionDep
) -> ObjectionList:
    """The objections lodged in the commune during the posting, with their re-checks."""
    return await review_service.list_objections(session, review_round, commune, caller)


@router.post(
    "/communes/{code}/objections/{objection_id}/recheck",
    response_model=ObjectionRead,
    responses=CONFLICT,
)
async def recheck_objection(
    caller: ReviewRecorder,
    review_round: ValidRound,
    commune: CommuneInScope,
    objection_id: UUID,
    recheck_in: RecheckInput,
    session: SessionDep,
) -> ObjectionRead:
    """Record the outcome of an objection's re-check (once)."""
    return await review_service.recheck_objection(
        session, review_round, commune, objection_id, recheck_in, caller
    )


@router.get("/provinces/{code}/approval", response_model=ProvinceApprovalRead)
async def get_province_approval(
    caller: ReviewReader, review_round: ValidRound, province: ProvinceInScope, session: SessionDep
) -> ProvinceApprovalRead:
    """Whether the province approved the round, and the states of the communes it covers."""
    return await review_service.province_status(session, review_round, province)


@router.post("/provinces/{code}/approval", response_model=ProvinceApprovalRead, responses=CONFLICT)
async def approve_province(
    caller: ProvinceApprover,
    review_round: ValidRound,
    province: ProvinceInScope,
    session: SessionDep,
) -> ProvinceApprovalRead:
    """Approve the round for the province; 409 while any commune it covers is not approved."""
    return await review_service.approve_province(session, review_round, province, caller)
