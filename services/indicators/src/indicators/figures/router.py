from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import references
from indicators.figures import service as figures_service
from indicators.figures.cell_key import MAX_NOISE
from indicators.figures.counts import COMMUNES_WITH_POPULATION, SURVEYED_HOUSEHOLDS
from indicators.figures.disclosure import perturbed_leaves, published
from indicators.figures.report import unit_figures
from indicators.figures.schemas import Disclosure, UnitFigures, UnitFiguresList
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
) -> UnitFigures:
    """Counts, poverty rates and deprivations of a unit of the caller's scope in a round.

    For roles that see aggregates only, counts are perturbed (`disclosure` says how)."""
    unit = await _unit(session, caller, round_id, unit_code)
    if caller.can(Permission.SMALL_CELLS_READ):
        return unit.figures(unit.counters)
    cells = await figures_service.commune_cells(session, round_id, unit_code)
    leaves = perturbed_leaves((metric, value, key) for _, metric, value, key in cells)
    return unit.figures(published(unit.counters, leaves), DISCLOSURE)


@router.get("/{round_id}/{unit_code}/children", response_model=UnitFiguresList)
async def list_child_figures(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
) -> UnitFiguresList:
    """The figures of each child unit that has any, in code order (one report row each)."""
    parent = await _unit(session, caller, round_id, unit_code)
    children = [
        await _unit(session, caller, round_id, code)
        for code in await figures_service.children(session, unit_code)
    ]
    children = [child for child in children if child.has_figures]
    if caller.can(Permission.SMALL_CELLS_READ):
        return UnitFiguresList(items=[child.figures(child.counters) for child in children])
    # The parent's subtree, read once; each cell is grouped under the child it lies in.
    by_child: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    by_district = parent.level == "province"
    for child, metric, value, key in await figures_service.commune_cells(
        session, round_id, unit_code, by_district=by_district
    ):
        by_child[child or ""].append((metric, value, key))
    return UnitFiguresList(
        items=[
            child.figures(
                published(child.counters, perturbed_leaves(by_child[child.code])), DISCLOSURE
            )
            for child in children
        ]
    )


DISCLOSURE = Disclosure(
    method="cell_key",
    max_noise=MAX_NOISE,
    note="Each commune's counts of households and persons by class, area and deprivation are "
    "moved by a small deterministic noise (zero stays zero; 43 % do not move at all); every "
    "other count is the sum of those, so all counts add up. See docs/access.md.",
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

    def figures(
        self, counters: Mapping[str, int], disclosure: Disclosure | None = None
    ) -> UnitFigures:
        return unit_figures(
            round_id=self.round_id,
            unit_code=self.code,
            level=self.level,
            standard=self.standard,
            counters=counters,
            as_of=self.as_of,
            disclosure=disclosure,
        )


async def _unit(session: AsyncSession, caller: Caller, round_id: UUID, unit_code: str) -> _Unit:
    """The unit's counters, or 404 (also for a unit outside the caller's scope)."""
    standard_id = await references.round_standard(session, round_id)
    known = await references.unit_path(session, unit_code)
    if standard_id is None or known is None or not caller.may_see(known[1]):
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    counters, as_of = await figures_service.read(session, round_id, unit_code)
    return _Unit(round_id, unit_code, known[0], get_standard(standard_id), counters, as_of)
