from uuid import UUID

from fastapi import APIRouter

from indicators.figures.router import FiguresReader, MapDay, UnitCode
from indicators.information import service as information_service
from indicators.information.schemas import InformationFigures, InformationList
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/information", tags=["information"], responses=PROBLEM_RESPONSES)

# `/trend/{unit_code}` comes before `/{round_id}/{unit_code}`, which would otherwise take it.


@router.get("/trend/{unit_code}", response_model=InformationList)
async def information_trend(
    caller: FiguresReader, unit_code: UnitCode, session: SessionDep, map_day: MapDay = None
) -> InformationList:
    """The unit's information dimension in every periodic round, oldest first, on one map
    (`map`, else the latest round's; earlier rounds restated onto it)."""
    return InformationList(
        items=await information_service.trend(session, caller, unit_code, map_day)
    )


@router.get("/{round_id}/{unit_code}", response_model=InformationFigures)
async def get_information(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
    map_day: MapDay = None,
) -> InformationFigures:
    """Households deprived in telecom use (#11) and information devices (#12), each and both,
    among all surveyed households and among the poor and near-poor (perturbed for roles that
    see aggregates only, as every figure)."""
    items = await information_service.for_unit(session, caller, round_id, unit_code, map_day)
    return items[0]


@router.get("/{round_id}/{unit_code}/children", response_model=InformationList)
async def list_child_information(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
    map_day: MapDay = None,
) -> InformationList:
    """The information dimension of each child unit with figures, in code order."""
    items = await information_service.for_unit(
        session, caller, round_id, unit_code, map_day, children=True
    )
    return InformationList(items=items)
