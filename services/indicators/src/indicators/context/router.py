from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from indicators.context import service as context_service
from indicators.context.schemas import FIRST_YEAR, ContextRow, ImportResult, UnitContext
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, InvalidInput

# The JSON body's rows, written into the route's document by hand (the body is read from the
# request, CSV or JSON): their enums point at the document's components, which hold them.
_ROW_SCHEMA = ContextRow.model_json_schema(ref_template="#/components/schemas/{model}")
_ROW_SCHEMA.pop("$defs", None)

router = APIRouter(
    prefix="/api/v1/context-series", tags=["context series"], responses=PROBLEM_RESPONSES
)
ContextReader = Annotated[Caller, requires(Permission.FIGURES_READ)]
ContextWriter = Annotated[Caller, requires(Permission.CONTEXT_SERIES_WRITE)]


@router.post(
    "/import",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": (
                        "unit_code,year,series,value,source_publisher,source_title,"
                        "source_reference,source_retrieved_on,note\n"
                        "26,2022,smartphone_households,81.5,Sở Thông tin và Truyền thông tỉnh "
                        "Vĩnh Phúc,Báo cáo chuyển đổi số năm 2022,"
                        "https://example.gov.vn/bao-cao-cds-2022,2026-12-01,Illustrative figure\n"
                    ),
                },
                "application/json": {"schema": {"type": "array", "items": _ROW_SCHEMA}},
            },
            "required": True,
        }
    },
)
async def import_context_series(
    caller: ContextWriter, request: Request, session: SessionDep
) -> ImportResult:
    """Import public statistics of units (mobile coverage, broadband subscriptions, households
    with a smartphone) per year, with their sources, from a CSV (`text/csv`, the columns of
    `docs/examples/context-series.csv`) or a JSON list of rows; all rows or none.

    Every wrong row is named with its column (`["body", "row 3", "value"]` for the CSV's third
    line). A unit is the unit of its code on that year's map, within the caller's scope
    (province officers: their province). A value already recorded for the same unit, year and
    series is replaced."""
    body = await request.body()
    is_csv = request.headers.get("content-type", "").startswith("text/csv")
    rows = context_service.parse_csv(body) if is_csv else context_service.parse_json(body)
    outcome = await context_service.import_rows(session, rows, caller)
    return ImportResult(imported=outcome.imported, replaced=outcome.replaced)


@router.get("/{unit_code}", response_model=UnitContext)
async def get_unit_context(
    caller: ContextReader,
    unit_code: Annotated[
        str,
        Path(
            pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
            description="Province, district or commune code; each year's value is of the unit "
            "the code names on that year's map.",
        ),
    ],
    session: SessionDep,
    from_year: Annotated[
        int | None, Query(alias="from", ge=FIRST_YEAR, le=2100, description="First year.")
    ] = None,
    to_year: Annotated[
        int | None, Query(alias="to", ge=FIRST_YEAR, le=2100, description="Last year.")
    ] = None,
) -> UnitContext:
    """A unit's public statistics per year with their sources, beside the information
    dimension the platform computed for the unit in each year's periodic round (telecom use
    #11 and information devices #12; perturbed for roles that see aggregates only)."""
    if from_year is not None and to_year is not None and to_year < from_year:
        raise InvalidInput.field(["query", "to"], f"to ({to_year}) is before from ({from_year}).")
    items = await context_service.unit_context(
        session, caller, unit_code, from_year=from_year, to_year=to_year
    )
    return UnitContext(unit_code=unit_code, items=items)
