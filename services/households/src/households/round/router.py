from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from households.round import service as round_service
from households.round.dependencies import ValidRound
from households.round.models import ReviewRound
from households.round.schemas import RoundCreate, RoundList, RoundRead
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, problem_responses

router = APIRouter(prefix="/api/v1/rounds", tags=["rounds"], responses=PROBLEM_RESPONSES)
RoundReader = Annotated[Caller, requires(Permission.ROUNDS_READ)]
RoundWriter = Annotated[Caller, requires(Permission.ROUNDS_WRITE)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RoundRead,
    responses=problem_responses(409),
)
async def open_round(
    caller: RoundWriter, round_in: RoundCreate, session: SessionDep, request: Request
) -> ReviewRound:
    """Open a review round pinned to a poverty standard."""
    return await round_service.open_round(
        session, round_in, known_standards=request.state.settings.POVERTY_STANDARDS
    )


@router.get("", response_model=RoundList)
async def list_rounds(
    caller: RoundReader,
    session: SessionDep,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Only the rounds of this review year.")
    ] = None,
) -> RoundList:
    """List review rounds, newest first."""
    rounds = await round_service.list_rounds(session, year=year)
    return RoundList(items=[RoundRead.model_validate(r) for r in rounds], total=len(rounds))


@router.get("/{round_id}", response_model=RoundRead)
async def get_round(caller: RoundReader, review_round: ValidRound) -> ReviewRound:
    """Get one review round."""
    return review_round
