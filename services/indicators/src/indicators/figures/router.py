from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import references
from indicators.figures import service as figures_service
from indicators.figures.counts import COMMUNES_WITH_POPULATION, SURVEYED_HOUSEHOLDS
from indicators.figures.disclosure import withheld, withheld_among_siblings
from indicators.figures.report import unit_figures
from indicators.figures.schemas import UnitFigures, UnitFiguresList
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, NotFound

router = APIRouter(prefix="/api/v1/figures", tags=["figures"], responses=PROBLEM_RESPONSES)

UnitCode = Annotated[
    str,
    Path(
        pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$", description="Province, district or commune code"
    ),
]
FiguresReader = Annotated[Caller, requires(Permission.FIGURES_READ)]


@router.get("/{round_id}/{unit_code}", response_model=UnitFigures)
async def get_unit_figures(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
    request: Request,
) -> UnitFigures:
    """Counts, poverty rates and deprivations of a unit of the caller's scope in a round.

    For roles that see aggregates only, small counts and what would reveal them are null."""
    unit = await _unit(session, caller, round_id, unit_code)
    k = _suppression(caller, request)
    return unit.figures(withheld(unit.counters, k) if k else frozenset(), k)


@router.get("/{round_id}/{unit_code}/children", response_model=UnitFiguresList)
async def list_child_figures(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
    request: Request,
) -> UnitFiguresList:
    """The figures of each child unit that has any, in code order (one report row each)."""
    await _unit(session, caller, round_id, unit_code)
    children = [
        await _unit(session, caller, round_id, code)
        for code in await figures_service.children(session, unit_code)
    ]
    children = [child for child in children if child.has_figures]
    k = _suppression(caller, request)
    hidden: Sequence[frozenset[str] | set[str]] = (
        withheld_among_siblings([child.counters for child in children], k)
        if k
        else [frozenset()] * len(children)
    )
    return UnitFiguresList(
        items=[child.figures(keys, k) for child, keys in zip(children, hidden, strict=True)]
    )


@dataclass
class _Unit:
    round_id: UUID
    code: str
    level: str
    standard: Standard
    counters: Mapping[str, int]
    as_of: datetime | None

    @property
    def has_figures(self) -> bool:
        return bool(
            self.counters.get(SURVEYED_HOUSEHOLDS) or self.counters.get(COMMUNES_WITH_POPULATION)
        )

    def figures(self, hidden: frozenset[str] | set[str], k: int | None) -> UnitFigures:
        return unit_figures(
            round_id=self.round_id,
            unit_code=self.code,
            level=self.level,
            standard=self.standard,
            counters=self.counters,
            as_of=self.as_of,
            withheld=hidden,
            withheld_below=k,
        )


async def _unit(session: AsyncSession, caller: Caller, round_id: UUID, unit_code: str) -> _Unit:
    """The unit's counters, or 404 (also for a unit outside the caller's scope)."""
    standard_id = await references.round_standard(session, round_id)
    known = await references.unit_path(session, unit_code)
    if standard_id is None or known is None or not caller.may_see(known[1]):
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    counters, as_of = await figures_service.read(session, round_id, unit_code)
    return _Unit(round_id, unit_code, known[0], get_standard(standard_id), counters, as_of)


def _suppression(caller: Caller, request: Request) -> int | None:
    """The disclosure threshold k for this caller, or None if it may see small cells."""
    if caller.can(Permission.SMALL_CELLS_READ):
        return None
    k: int = request.state.settings.DISCLOSURE_MIN_COUNT
    return k
