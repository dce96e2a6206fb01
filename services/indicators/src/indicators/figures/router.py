from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.as_of import service as as_of_service
from indicators.as_of.service import AsOf
from indicators.classification.labels import figures_in
from indicators.figures import freshness, references
from indicators.figures import service as figures_service
from indicators.figures.cell_key import MAX_NOISE, perturb
from indicators.figures.counts import COMMUNES_WITH_POPULATION, SURVEYED_HOUSEHOLDS
from indicators.figures.disclosure import perturbed_leaves, published
from indicators.figures.report import unit_figures
from indicators.figures.schemas import (
    Disclosure,
    MapView,
    RegularReviews,
    UnitFigures,
    UnitFiguresList,
)
from indicators.restatement import service as restatement_service
from indicators.restatement.service import LEVEL_BY_WIDTH, Restatement
from indicators.review import service as review_service
from indicators.review.service import Approval
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, InvalidInput, NotFound
from kit.language import LanguageDep

router = APIRouter(prefix="/api/v1/figures", tags=["figures"], responses=PROBLEM_RESPONSES)

UnitCode = Annotated[
    str,
    Path(
        pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$", description="Province, district or commune code"
    ),
]
FiguresReader = Annotated[Caller, requires(Permission.FIGURES_READ)]


MapDay = Annotated[
    date | None,
    Query(
        alias="map",
        description="Restate the figures onto the map (units) in force on this day, on or after "
        "the round's reference date: re-aggregated from household classifications through the "
        "official crosswalk. `unit_code` is then a unit of that map. Without it, the figures "
        "are as reported: on the units in force on the round's reference date.",
        openapi_examples={"after the 2025 reform": {"value": "2026-01-01"}},
    ),
]
AsOfDay = Annotated[
    date | None,
    Query(
        alias="as_of",
        description="For a periodic round: the figures as of this day, on or after the round's "
        "reference date. Each household counts with its result in the latest regular round "
        "(monthly, reference date the 15th) of the period on or before this day, else with its "
        "result in the round; households first surveyed in such a regular round count too "
        "(`regular_reviews` says how many). Not with `map` (one at a time), not for a regular "
        "round.",
        openapi_examples={"after the November regular review": {"value": "2025-11-15"}},
    ),
]


@router.get(
    "/{round_id}/{unit_code}",
    response_model=UnitFigures,
)
async def get_unit_figures(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
    language: LanguageDep,
    map_day: MapDay = None,
    as_of_day: AsOfDay = None,
) -> UnitFigures:
    """Counts, poverty rates and deprivations of a unit of the caller's scope in a round, as
    reported, restated onto a later map (`map`) or as of a date (`as_of`), approved or
    provisional; indicator and dimension names in the `Accept-Language` asked for.

    For roles that see aggregates only, counts are perturbed (`disclosure` says how);
    `freshness` says which events they reflect and whether a recalculation is pending."""
    figures = await _unit_figures(caller, round_id, unit_code, session, map_day, as_of_day)
    await freshness.mark(session, [figures])
    return figures_in(figures, language)


async def _unit_figures(
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    session: AsyncSession,
    map_day: date | None,
    as_of_day: date | None,
) -> UnitFigures:
    if as_of_day is not None:
        regrouped = await _as_of(session, caller, round_id, unit_code, as_of_day, map_day)
        return regrouped.figures(unit_code, caller)
    if map_day is not None:
        restated = await _restated(session, caller, round_id, unit_code, map_day)
        if restated is not None:
            return restated.figures(unit_code, caller)
    unit = await _unit(session, caller, round_id, unit_code, map_day)
    approved = await _approvals(session, round_id, unit, [unit])
    if caller.can(Permission.SMALL_CELLS_READ):
        return unit.figures(unit.counters, approved[unit.code])
    cells = await figures_service.commune_cells(session, round_id, unit_code)
    leaves = perturbed_leaves((metric, value, key) for _, metric, value, key in cells)
    return unit.figures(published(unit.counters, leaves), approved[unit.code], DISCLOSURE)


@router.get(
    "/{round_id}/{unit_code}/children",
    response_model=UnitFiguresList,
)
async def list_child_figures(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    session: SessionDep,
    language: LanguageDep,
    map_day: MapDay = None,
    as_of_day: AsOfDay = None,
) -> UnitFiguresList:
    """The figures of each child unit that has any, in code order (one report row each), as
    reported, restated onto a later map (`map`) or as of a date (`as_of`); names in the
    `Accept-Language` asked for."""
    children = await _child_figures(caller, round_id, unit_code, session, map_day, as_of_day)
    await freshness.mark(session, children.items)
    return UnitFiguresList(items=[figures_in(item, language) for item in children.items])


async def _child_figures(
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    session: AsyncSession,
    map_day: date | None,
    as_of_day: date | None,
) -> UnitFiguresList:
    regrouped = None
    if as_of_day is not None:
        regrouped = await _as_of(session, caller, round_id, unit_code, as_of_day, map_day)
    elif map_day is not None:
        regrouped = await _restated(session, caller, round_id, unit_code, map_day)
    if regrouped is not None:
        return UnitFiguresList(
            items=[
                regrouped.figures(code, caller)
                for code in regrouped.restatement.children()
                if regrouped.has_figures(code)
            ]
        )
    parent = await _unit(session, caller, round_id, unit_code, map_day)
    children = [
        await _unit(session, caller, round_id, code, map_day)
        for code in await figures_service.children(session, round_id, unit_code)
    ]
    children = [child for child in children if child.has_figures]
    approved = await _approvals(session, round_id, parent, children)
    if caller.can(Permission.SMALL_CELLS_READ):
        return UnitFiguresList(
            items=[child.figures(child.counters, approved[child.code]) for child in children]
        )
    # The parent's subtree, read once; each cell is grouped under the child it lies in.
    by_child: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    # A province's children are districts on the old map, communes on the two-level one.
    by_district = any(child.level == "district" for child in children)
    for child, metric, value, key in await figures_service.commune_cells(
        session, round_id, unit_code, by_district=by_district
    ):
        by_child[child or ""].append((metric, value, key))
    return UnitFiguresList(
        items=[
            child.figures(
                published(child.counters, perturbed_leaves(by_child[child.code])),
                approved[child.code],
                DISCLOSURE,
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
    path: tuple[str, ...]
    standard: Standard
    counters: Mapping[str, int]
    as_of: datetime | None
    map_view: MapView

    @property
    def has_figures(self) -> bool:
        return _has_figures(self.counters)

    def figures(
        self, counters: Mapping[str, int], approval: Approval, disclosure: Disclosure | None = None
    ) -> UnitFigures:
        return unit_figures(
            round_id=self.round_id,
            unit_code=self.code,
            level=self.level,
            standard=self.standard,
            counters=counters,
            as_of=self.as_of,
            map_view=self.map_view,
            approval=approval,
            disclosure=disclosure,
        )


def _has_figures(counters: Mapping[str, int]) -> bool:
    return bool(counters.get(SURVEYED_HOUSEHOLDS) or counters.get(COMMUNES_WITH_POPULATION))


async def _unit(
    session: AsyncSession,
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    map_day: date | None = None,
) -> _Unit:
    """The unit's counters, or 404 (also for a unit outside the caller's scope). With a
    `map_day` that no map change precedes, the units as reported are those of that map."""
    facts = await references.round_facts(session, round_id)
    known = await references.unit_path(session, round_id, unit_code)
    if facts is None or known is None or not caller.may_see(known[1]):
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    standard_id, reference_date = facts
    counters, as_of = await figures_service.read(session, round_id, unit_code)
    if map_day is None:
        view = MapView(as_reported=True, date=reference_date)
    else:
        view = MapView(as_reported=False, date=map_day)
    return _Unit(
        round_id, unit_code, known[0], known[1], get_standard(standard_id), counters, as_of, view
    )


async def _approvals(
    session: AsyncSession, round_id: UUID, parent: _Unit, units: Sequence[_Unit]
) -> dict[str, Approval]:
    """Approved or provisional, for units that are the parent or its children."""
    if parent.level == "commune":  # its own counters say whether it was surveyed
        surveyed: Sequence[tuple[str, str | None]] = (
            [(parent.code, None)] if parent.counters.get(SURVEYED_HOUSEHOLDS) else []
        )
        approved = await review_service.approved_communes(
            session, round_id, [commune for commune, _ in surveyed]
        )
    else:
        found = await figures_service.surveyed_communes(session, round_id, parent.code)
        surveyed = [(row.commune, row.district) for row in found]
        approved = {row.commune for row in found if row.approved}
    answer = {}
    for unit in units:
        if unit.code == parent.code:
            communes = [commune for commune, _ in surveyed]
        else:  # a child: the commune itself, or the district of the communes under it
            communes = [
                commune for commune, district in surveyed if unit.code in (commune, district)
            ]
        by_province = None
        if unit.level == "province":
            by_province = await review_service.province_approved(session, round_id, unit.code)
        answer[unit.code] = review_service.approval(communes, approved, by_province=by_province)
    return answer


@dataclass
class _Regrouped:
    """A round's households regrouped from their classifications, for one unit and its
    children: restated onto a later map, or counted as of a date (`as_of`)."""

    round_id: UUID
    standard: Standard
    map_view: MapView
    restatement: Restatement
    approved: set[str]
    as_of: AsOf | None = None

    def has_figures(self, unit_code: str) -> bool:
        return _has_figures(restatement_service.counters(self.restatement.under(unit_code)))

    def figures(self, unit_code: str, caller: Caller) -> UnitFigures:
        restatement = self.restatement
        communes = restatement.under(unit_code)
        counters = restatement_service.counters(communes)
        unassigned = restatement.unassigned_of(unit_code)
        reported = restatement_service.reported_communes(communes, unassigned)
        disclosure = None
        unassigned_households = sum(split.households for split in unassigned.values())
        if not caller.can(Permission.SMALL_CELLS_READ):
            disclosure = DISCLOSURE
            leaves = perturbed_leaves(restatement_service.leaf_rows(communes))
            counters = published(counters, leaves)
            unassigned_households = sum(
                perturb(split.households, split.key_sum, UNASSIGNED)
                for split in unassigned.values()
            )
        return unit_figures(
            round_id=self.round_id,
            unit_code=unit_code,
            level=LEVEL_BY_WIDTH[len(unit_code)],
            standard=self.standard,
            counters=counters,
            as_of=None,
            map_view=self.map_view,
            approval=review_service.approval(reported, self.approved),
            disclosure=disclosure,
            unassigned_households=unassigned_households if unassigned else None,
            regular_reviews=self._regular_reviews(unit_code, caller),
        )

    def _regular_reviews(self, unit_code: str, caller: Caller) -> RegularReviews | None:
        if self.as_of is None:
            return None
        cells = self.as_of.from_regular_under(unit_code)
        if caller.can(Permission.SMALL_CELLS_READ):
            households = sum(value for value, _ in cells)
        else:
            households = sum(perturb(value, key_sum, FROM_REGULAR) for value, key_sum in cells)
        return RegularReviews(
            as_of=self.as_of.day,
            regular_rounds=len(self.as_of.regular_rounds),
            households=households,
        )


UNASSIGNED = "households.unassigned"  # its cells: a split commune's unassigned households
FROM_REGULAR = "households.from_regular"  # its cells: a commune's households so counted


async def _restated(
    session: AsyncSession, caller: Caller, round_id: UUID, unit_code: str, day: date
) -> _Regrouped | None:
    """The unit restated onto the map of `day`; None when no map change came between the
    round's reference date and `day` (the units as reported are that map's)."""
    facts = await references.round_facts(session, round_id)
    if facts is None:
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    standard_id, reference_date = facts
    if reference_date is None:
        raise InvalidInput.field(
            ["query", "map"],
            f"Round {round_id}'s reference date is not known yet: it cannot be restated.",
        )
    if day < reference_date:
        raise InvalidInput.field(
            ["query", "map"],
            f"{day} is before the round's reference date {reference_date}: figures are "
            "restated onto the map of a later day only.",
        )
    if not await restatement_service.map_changed(session, reference_date, day):
        return None
    restatement = await restatement_service.restate(
        session, round_id, reference_date, day, unit_code
    )
    if restatement is None or not caller.may_see(restatement.path):
        raise NotFound(f"No unit {unit_code} with figures of round {round_id} on the map of {day}.")
    reported = restatement_service.reported_communes(
        restatement.communes.values(), restatement.unassigned
    )
    approved = await review_service.approved_communes(session, round_id, reported)
    view = MapView(as_reported=False, date=day)
    return _Regrouped(round_id, get_standard(standard_id), view, restatement, approved)


async def _as_of(
    session: AsyncSession,
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    day: date,
    map_day: date | None,
) -> _Regrouped:
    """The unit of a periodic round as of `day` (on the units as reported)."""
    unit = await _unit(session, caller, round_id, unit_code)
    if map_day is not None:
        raise InvalidInput.field(
            ["query", "as_of"],
            "as_of and map cannot be combined: ask for figures as of a date or on a later "
            "map, one at a time.",
        )
    periodic = await figures_service.get_round(session, round_id)
    if periodic is None:
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    if as_of_service.is_regular(periodic):
        raise InvalidInput.field(
            ["query", "as_of"],
            f"Round {round_id} is a regular round: figures as of a date are asked of the "
            "periodic round whose period it belongs to.",
        )
    if periodic.reference_date is None:
        raise InvalidInput.field(
            ["query", "as_of"],
            f"Round {round_id}'s reference date is not known yet: no figures as of a date.",
        )
    if day < periodic.reference_date:
        raise InvalidInput.field(
            ["query", "as_of"],
            f"{day} is before the round's reference date {periodic.reference_date}.",
        )
    found = await as_of_service.as_of(session, periodic, day, unit.level, unit.path)
    reported = restatement_service.reported_communes(found.regrouped.communes.values(), {})
    approved = await review_service.approved_communes(session, round_id, reported)
    view = MapView(as_reported=True, date=periodic.reference_date)
    return _Regrouped(round_id, unit.standard, view, found.regrouped, approved, found)


async def shown_counters(
    session: AsyncSession,
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    map_day: date | None = None,
    *,
    children: bool = False,
) -> dict[str, tuple[MapView, Mapping[str, int]]]:
    """The counters behind the figures this caller gets of the unit (or of each child unit that
    has figures, `children`), as reported or restated (`map_day`): exact, or for a restricted
    caller rebuilt from the perturbed leaves exactly as `get_unit_figures` publishes them. For
    tables that read counters the figures do not show (the information dimension)."""
    restricted = not caller.can(Permission.SMALL_CELLS_READ)
    regrouped = None
    if map_day is not None:
        regrouped = await _restated(session, caller, round_id, unit_code, map_day)
    if regrouped is not None:
        restatement = regrouped.restatement
        codes = [c for c in restatement.children() if regrouped.has_figures(c)]
        answer: dict[str, tuple[MapView, Mapping[str, int]]] = {}
        for code in codes if children else [unit_code]:
            communes = restatement.under(code)
            counters = restatement_service.counters(communes)
            if restricted:
                leaves = perturbed_leaves(restatement_service.leaf_rows(communes))
                counters = published(counters, leaves)
            answer[code] = (regrouped.map_view, counters)
        return answer
    parent = await _unit(session, caller, round_id, unit_code, map_day)
    units = [parent]
    if children:
        units = [
            await _unit(session, caller, round_id, code, map_day)
            for code in await figures_service.children(session, round_id, unit_code)
        ]
        units = [unit for unit in units if unit.has_figures]
    if not restricted:
        return {unit.code: (unit.map_view, unit.counters) for unit in units}
    by_unit: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    by_district = any(unit.level == "district" for unit in units) if children else False
    cells = await figures_service.commune_cells(
        session, round_id, unit_code, by_district=by_district
    )
    for commune, metric, value, key in cells:
        by_unit[(commune or "") if children else unit_code].append((metric, value, key))
    return {
        unit.code: (unit.map_view, published(unit.counters, perturbed_leaves(by_unit[unit.code])))
        for unit in units
    }
