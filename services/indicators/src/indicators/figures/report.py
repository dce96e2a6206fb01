"""Turns a unit's counters into figures: counts, rates and deprivation shares (DOMAIN §5)."""

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from indicators.figures.counts import (
    CLASSES_WITH_DEPRIVATION_ANALYSIS,
    COMMUNES_MISSING_POPULATION,
    COMMUNES_SPLIT,
    COMMUNES_WITH_POPULATION,
)
from indicators.figures.schemas import (
    AreaFigures,
    ClassCounts,
    ClassDeprivation,
    Denominator,
    DenominatorStatus,
    DimensionDeprivation,
    Disclosure,
    IndicatorDeprivation,
    MapView,
    Rates,
    RegularReviews,
    ReviewStatus,
    UnitFigures,
)
from indicators.review.service import Approval
from indicators.standard.schemas import Standard

CLASSES = ("poor", "near_poor", "average", "not_poor")


def unit_figures(
    *,
    round_id: UUID,
    unit_code: str,
    level: str,
    standard: Standard,
    counters: Mapping[str, int],
    as_of: datetime | None,
    map_view: MapView,
    approval: Approval,
    disclosure: Disclosure | None = None,
    unassigned_households: int | None = None,
    regular_reviews: RegularReviews | None = None,
) -> UnitFigures:
    """The figures of these counters (for a restricted caller: `disclosure.published` ones).

    `unassigned_households` (restated figures) is None when none may belong to the unit; a
    number, perturbed for a restricted caller, when some may: the unit is not comparable."""
    denominator = _denominator(counters)
    usable = denominator.status is DenominatorStatus.complete
    shown = _Shown(counters)
    return UnitFigures(
        round_id=round_id,
        unit_code=unit_code,
        level=level,
        standard_id=standard.id,
        as_of=as_of,
        map=map_view,
        status=ReviewStatus(approval.status.value),
        communes=approval.communes,
        approved_communes=approval.approved_communes,
        comparable=unassigned_households is None,
        unassigned_households=unassigned_households or 0,
        regular_reviews=regular_reviews,
        denominator=denominator,
        total=_area(shown, "", usable),
        urban=_area(shown, ".urban", usable),
        rural=_area(shown, ".rural", usable),
        deprivation={
            household_class: _deprivation(shown, household_class, standard)
            for household_class in CLASSES_WITH_DEPRIVATION_ANALYSIS
        },
        disclosure=disclosure,
    )


class _Shown:
    """The counters, a missing one reading as 0."""

    def __init__(self, counters: Mapping[str, int]) -> None:
        self.counters = counters

    def __getitem__(self, key: str) -> int:
        return self.counters.get(key, 0)

    def __contains__(self, key: str) -> bool:
        return key in self.counters


def _denominator(counters: Mapping[str, int]) -> Denominator:
    with_population = counters.get(COMMUNES_WITH_POPULATION, 0)
    missing = counters.get(COMMUNES_MISSING_POPULATION, 0)
    split = counters.get(COMMUNES_SPLIT, 0)
    if split:
        status = DenominatorStatus.incomplete
        note = (
            f"{split} as-reported commune(s) were split among several units of this map: their "
            "resident population cannot be divided, so rates are withheld (never averaged)."
        )
    elif with_population == 0:
        status, note = DenominatorStatus.unknown, "No resident population entered: no rates."
    elif missing:
        status = DenominatorStatus.incomplete
        note = (
            f"{missing} surveyed commune(s) have no resident population entered: rates are "
            "withheld until they do."
        )
    else:
        status, note = DenominatorStatus.complete, "Rates use all resident households/persons."
    return Denominator(
        status=status,
        communes_with_population=with_population,
        communes_missing_population=missing,
        communes_split=split,
        note=note,
    )


def _area(counters: _Shown, suffix: str, usable: bool) -> AreaFigures:
    households = _class_counts(counters, "households", suffix)
    persons = _class_counts(counters, "persons", suffix)
    return AreaFigures(
        households=households,
        persons=persons,
        household_rates=_rates(households, usable),
        person_rates=_rates(persons, usable),
    )


def _class_counts(counters: _Shown, unit: str, suffix: str) -> ClassCounts:
    resident_key = f"{unit}.resident{suffix}"
    return ClassCounts(
        resident=counters[resident_key] if resident_key in counters else None,
        surveyed=counters[f"{unit}.surveyed{suffix}"],
        **{c: counters[f"{unit}.{c}{suffix}"] for c in CLASSES},
    )


def _rates(counts: ClassCounts, usable: bool) -> Rates:
    def percent(numerator: int) -> float | None:
        if not usable or not counts.resident:
            return None
        return round(100 * numerator / counts.resident, 4)

    return Rates(
        poverty_rate_percent=percent(counts.poor),
        near_poverty_rate_percent=percent(counts.near_poor),
        multidimensional_poverty_rate_percent=percent(counts.poor + counts.near_poor),
    )


def _deprivation(counters: _Shown, household_class: str, standard: Standard) -> ClassDeprivation:
    households = counters[f"households.{household_class}"]

    def share(count: int) -> float | None:
        # Perturbed counts may exceed their perturbed class total: a share stays a share.
        return round(min(100.0, 100 * count / households), 4) if households else None

    indicators = [
        IndicatorDeprivation(
            key=indicator.key,
            dimension=indicator.dimension,
            name=indicator.name.en,
            households=(count := counters[f"deprived.{household_class}.{indicator.key}"]),
            share_percent=share(count),
        )
        for indicator in standard.indicators
    ]
    dimensions = [
        DimensionDeprivation(
            key=dimension.key,
            name=dimension.name.en,
            households=(count := counters[f"deprived_dimension.{household_class}.{dimension.key}"]),
            share_percent=share(count),
        )
        for dimension in standard.dimensions
    ]
    return ClassDeprivation(
        households=households,
        total_deprivations=counters[f"deprivations.{household_class}"],
        indicators=indicators,
        dimensions=dimensions,
    )
