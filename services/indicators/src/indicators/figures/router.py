from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import service as figures_service
from indicators.figures.report import unit_figures
from indicators.figures.schemas import UnitFigures, UnitFiguresList
from indicators.standard.service import get_standard
from kit.db import SessionDep
from kit.errors import NotFound, problem_responses

router = APIRouter(
    prefix="/api/v1/figures", tags=["figures"], responses=problem_responses(404, 422)
)

UnitCode = Annotated[
    str, Path(pattern=r"^(\d{2}|\d{3}|\d{5})$", description="Province, district or commune code")
]


@router.get("/{round_id}/{unit_code}", response_model=UnitFigures)
async def get_unit_figures(round_id: UUID, unit_code: UnitCode, session: SessionDep) -> UnitFigures:
    """Counts, poverty rates and deprivations of a unit in a round."""
    return await _figures(session, round_id, unit_code)


@router.get("/{round_id}/{unit_code}/children", response_model=UnitFiguresList)
async def list_child_figures(
    round_id: UUID, unit_code: UnitCode, session: SessionDep
) -> UnitFiguresList:
    """The figures of each child unit that has any, in code order (one report row each)."""
    await _figures(session, round_id, unit_code)
    codes = await figures_service.children(session, unit_code)
    items = [await _figures(session, round_id, code) for code in codes]
    return UnitFiguresList(
        items=[
            item
            for item in items
            if item.total.households.surveyed or item.denominator.communes_with_population
        ]
    )


async def _figures(session: AsyncSession, round_id: UUID, unit_code: str) -> UnitFigures:
    review_round = await figures_service.get_round(session, round_id)
    level = await figures_service.unit_level(session, unit_code)
    if review_round is None or level is None:
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    counters, as_of = await figures_service.read(session, round_id, unit_code)
    return unit_figures(
        round_id=round_id,
        unit_code=unit_code,
        level=level,
        standard=get_standard(review_round.standard_id),
        counters=counters,
        as_of=as_of,
    )
