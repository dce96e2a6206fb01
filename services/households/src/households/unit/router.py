from typing import Annotated

from fastapi import APIRouter, Query

from households.unit import service as unit_service
from households.unit.dependencies import EndedUnit, OnQuery, ValidUnit
from households.unit.models import AdminUnit, UnitLevel
from households.unit.schemas import UnitList, UnitRead, UnitSuccessionRead
from kit.auth import Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES
from kit.fields import Offset

# The unit tree is public reference data: every caller may read all of it, whatever its scope.
router = APIRouter(
    prefix="/api/v1/units",
    tags=["units"],
    responses=PROBLEM_RESPONSES,
    dependencies=[requires(Permission.UNITS_READ)],
)


@router.get("", response_model=UnitList)
async def list_units(
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Part of the name; case and diacritics are ignored."),
    ] = None,
    level: Annotated[UnitLevel | None, Query(description="Only units of this tier.")] = None,
    parent_code: Annotated[
        str | None, Query(max_length=5, description="Only the units directly under this one.")
    ] = None,
    on: OnQuery = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> UnitList:
    """Search administrative units by name, level, parent and validity, ordered by code."""
    items, total = await unit_service.search(
        session, q=q, level=level, parent_code=parent_code, on=on, offset=offset, limit=limit
    )
    return UnitList(
        items=[UnitRead.model_validate(item) for item in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{code}", response_model=UnitRead)
async def get_unit(unit: ValidUnit) -> AdminUnit:
    """Get one administrative unit by code, as in force on a day or in its latest version."""
    return unit


@router.get("/{code}/children", response_model=list[UnitRead])
async def list_unit_children(
    unit: ValidUnit, session: SessionDep, on: OnQuery = None
) -> list[AdminUnit]:
    """List the units directly under a unit, ordered by code."""
    return await unit_service.children(session, unit.code, on=on)


@router.get("/{code}/path", response_model=list[UnitRead])
async def get_unit_path(unit: ValidUnit, session: SessionDep) -> list[AdminUnit]:
    """Get a unit's ancestors from its province down, followed by the unit itself."""
    return await unit_service.path(session, unit)


@router.get("/{code}/successors", response_model=list[UnitSuccessionRead])
async def list_unit_successors(unit: EndedUnit, session: SessionDep) -> list[UnitSuccessionRead]:
    """List the units that took over a unit's territory in the 2025 reform, with how.

    `on` picks which unit the code means (codes are reused); without it, the code's most recent
    version that has ended, i.e. the pre-reform unit when there is one. Empty for a unit in force.
    """
    return _lineage(await unit_service.successors(session, unit))


@router.get("/{code}/predecessors", response_model=list[UnitSuccessionRead])
async def list_unit_predecessors(unit: ValidUnit, session: SessionDep) -> list[UnitSuccessionRead]:
    """List the units whose territory went into a unit in the 2025 reform, with how.

    `on` picks which unit the code means (codes are reused); without it, its latest version.
    """
    return _lineage(await unit_service.predecessors(session, unit))


def _lineage(lineage: unit_service.Lineage) -> list[UnitSuccessionRead]:
    return [
        UnitSuccessionRead(
            relation=succession.relation,
            effective=succession.effective,
            unit=UnitRead.model_validate(other),
        )
        for succession, other in lineage
    ]
