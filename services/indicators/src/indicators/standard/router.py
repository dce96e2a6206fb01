from fastapi import APIRouter

from indicators.standard import service as standard_service
from indicators.standard.schemas import Standard, StandardSummary
from kit.auth import Permission, requires
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/api/v1/standards",
    tags=["standards"],
    responses=PROBLEM_RESPONSES,
    dependencies=[requires(Permission.STANDARDS_READ)],
)


# Plain `def`: the first call reads the data files, so FastAPI runs it in its thread pool.
@router.get("", response_model=list[StandardSummary])
def list_standards() -> list[StandardSummary]:
    """List the poverty standard versions with their review years and income lines."""
    return [standard.summary() for standard in standard_service.list_standards()]


@router.get("/{standard_id}", response_model=Standard)
def get_standard(standard_id: str) -> Standard:
    """Get one poverty standard's full definition: income test, dimensions and indicators."""
    return standard_service.get_standard(standard_id)
