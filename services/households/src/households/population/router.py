from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from households.population import service as population_service
from households.population.models import UnitPopulation
from households.population.schemas import (
    ImportResult,
    PopulationInput,
    PopulationList,
    PopulationRead,
    PopulationRow,
)
from households.round.dependencies import ValidRound
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/api/v1/populations/{round_id}",
    tags=["populations"],
    responses=PROBLEM_RESPONSES,
)
PopulationReader = Annotated[Caller, requires(Permission.POPULATIONS_READ)]
PopulationWriter = Annotated[Caller, requires(Permission.POPULATIONS_WRITE)]


@router.put(
    "/{unit_code}", response_model=PopulationRead, responses={201: {"model": PopulationRead}}
)
async def record_population(
    caller: PopulationWriter,
    review_round: ValidRound,
    unit_code: Annotated[str, Path(pattern=r"^[0-9]{5}$")],
    population_in: PopulationInput,
    session: SessionDep,
    response: Response,
) -> UnitPopulation:
    """Set a commune's resident households and persons for the round (the rates' denominator)."""
    population, created = await population_service.record(
        session, review_round, unit_code, population_in, caller
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return population


@router.get("", response_model=PopulationList)
async def list_populations(
    caller: PopulationReader,
    review_round: ValidRound,
    session: SessionDep,
    unit_code: Annotated[str | None, Query(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$")] = None,
) -> PopulationList:
    """The resident population of the round's communes in the caller's scope, within a unit if
    given."""
    items = await population_service.search(session, review_round, caller, unit_code=unit_code)
    return PopulationList(
        items=[PopulationRead.model_validate(p, from_attributes=True) for p in items],
        total=len(items),
    )


@router.post(
    "/import",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {"type": "array", "items": PopulationRow.model_json_schema()}
                },
                "text/csv": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def import_populations(
    caller: PopulationWriter, review_round: ValidRound, request: Request, session: SessionDep
) -> ImportResult:
    """Import many communes' populations from JSON rows or a CSV; all rows or none."""
    body = await request.body()
    is_csv = request.headers.get("content-type", "").startswith("text/csv")
    rows = population_service.parse_csv(body) if is_csv else population_service.parse_json(body)
    imported = await population_service.import_rows(session, review_round, rows, caller)
    return ImportResult(imported=imported)
