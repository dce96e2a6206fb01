from fastapi import APIRouter

from households.reconciliation import service
from households.reconciliation.dependencies import NationwideOperator
from households.reconciliation.schemas import RepublishResult
from households.round.dependencies import ValidRound
from kit.contracts.ledger import RoundLedger
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES

# The indicators service's reconciliation calls these with the administrator's own token.
router = APIRouter(
    prefix="/api/v1/admin/households/rounds/{round_id}",
    tags=["admin"],
    responses=PROBLEM_RESPONSES,
    dependencies=[NationwideOperator],
)


@router.get("/ledger", response_model=RoundLedger, operation_id="getRoundLedger")
async def round_ledger(review_round: ValidRound, session: SessionDep) -> RoundLedger:
    """Per commune of the round: surveyed households and a checksum of their assessments'
    versions, for the indicators service to prove its copy against."""
    return await service.ledger(session, review_round.id)


@router.post("/republish", response_model=RepublishResult)
async def republish_round(review_round: ValidRound, session: SessionDep) -> RepublishResult:
    """Publish again the current assessment event of every survey of the round, so consumers
    rebuild what they miss (an event of a version they have applied is skipped as stale)."""
    return RepublishResult(staged=await service.republish(session, review_round))
