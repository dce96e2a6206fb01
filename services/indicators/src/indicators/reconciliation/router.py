from typing import Any

import httpx
from fastapi import APIRouter

from indicators.reconciliation import service
from indicators.reconciliation.dependencies import HouseholdsClient, NationwideOperator
from indicators.reconciliation.exceptions import HouseholdsUnavailable
from indicators.reconciliation.schemas import ReconciliationRequest, ReconciliationResult
from kit.contracts.ledger import RoundLedger
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, NotFound, problem_responses

router = APIRouter(
    prefix="/api/v1/admin/indicators/reconciliations",
    tags=["admin"],
    responses=PROBLEM_RESPONSES | problem_responses(503),
    dependencies=[NationwideOperator],
)


@router.post("", response_model=ReconciliationResult, operation_id="reconcileRound")
async def reconcile(
    reconciliation: ReconciliationRequest, session: SessionDep, households: HouseholdsClient
) -> ReconciliationResult:
    """Compare this service's copy of a round, per commune (surveyed households and a checksum
    of assessment versions), with the households service's; with `republish`, have the round
    published again when they differ (what the copy misses is rebuilt as the events arrive)."""
    round_path = f"/api/v1/admin/households/rounds/{reconciliation.round_id}"
    source = RoundLedger.model_validate(
        await _ask(households, "GET", f"{round_path}/ledger", reconciliation)
    )
    copy = await service.ledger(session, reconciliation.round_id)
    differences = service.differences(source, copy)
    republished = None
    if differences and reconciliation.republish:
        answer = await _ask(households, "POST", f"{round_path}/republish", reconciliation)
        republished = int(answer["staged"])
    return ReconciliationResult(
        round_id=reconciliation.round_id,
        matching=not differences,
        differences=differences,
        republished=republished,
    )


async def _ask(
    households: httpx.AsyncClient, method: str, path: str, reconciliation: ReconciliationRequest
) -> dict[str, Any]:
    try:
        response = await households.request(method, path)
    except httpx.HTTPError as error:
        raise HouseholdsUnavailable(repr(error)) from error
    if response.status_code == 404:
        raise NotFound(f"Review round {reconciliation.round_id} does not exist.")
    if response.status_code != 200:
        raise HouseholdsUnavailable(f"it answered {response.status_code}: {response.text[:200]}")
    return response.json()  # type: ignore[no-any-return]
