"""Turns a unit's counters into figures: counts, rates and deprivation shares (DOMAIN §5)."""

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from indicators.figures.counts import (
    CLASSES_WITH_DEPRIVATION_ANALYSIS,
    COMMUNES_MISSING_POPULATION,
    COMMUNES_WITH_POPULATION,
)
from indicators.figures.schemas import (
    AreaFigures,
    ClassCounts,
    ClassDeprivation,
    Denominator,
    DenominatorStatus,
    DimensionDeprivation,
    IndicatorDeprivation,
    Rates,
    UnitFigures,
)
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
) -> UnitFigures:
    denominator = _denominator(counters)
    usable = denominator.status is DenominatorStatus.complete
    return UnitFigures(
        round_id=round_id,
        unit_code=unit_code,
        level=level,
        standard_id=standard.id,
        as_of=as_of,
        denominator=denominator,
        total=_area(counters, "", usable),
        urban=_area(counters, ".urban", usable),
        rural=_area(counters, ".rural", usable),
        deprivation={
            household_class: _deprivation(counters, household_class, standard)
            for household_class in CLASSES_WITH_DEPRIVATION_ANALYSIS
        },
    )


def _denominator(counters: Mapping[str, int]) -> Denominator:
    with_population = counters.get(COMMUNES_WITH_POPULATION, 0)
    missing = counters.get(COMMUNES_MISSING_POPULATION, 0)
    if with_population == 0:
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
        note=note,
    )


def _area(counters: Mapping[str, int], suffix: str, usable: bool) -> AreaFigures:
    households = _class_counts(counters, "households", suffix)
    persons = _class_counts(counters, "persons", suffix)
    return AreaFigures(
        households=households,
        persons=persons,
        household_rates=_rates(households, usable),
        person_rates=_rates(persons, usable),
    )


def _class_counts(counters: Mapping[str, int], unit: str, suffix: str) -> ClassCounts:
    resident_key = f"{unit}.resident{suffix}"
    return ClassCounts(
        resident=counters[resident_key] if resident_key in counters else None,
        surveyed=counters.get(f"{unit}.surveyed{suffix}", 0),
        **{c: counters.get(f"{unit}.{c}{suffix}", 0) for c in CLASSES},
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


def _deprivation(
    counters: Mapping[str, int], household_class: str, standard: Standard
) -> ClassDeprivation:
    households = counters.get(f"households.{household_class}", 0)

    def share(count: int) -> float | None:
        return round(100 * count / households, 4) if households else None

    indicators = [
        IndicatorDeprivation(
            key=indicator.key,
            dimension=indicator.dimension,
            name=indicator.name.en,
            households=(count := counters.get(f"deprived.{household_class}.{indicator.key}", 0)),
            share_percent=share(count),
        )
        for indicator in standard.indicators
    ]
    dimensions = [
        DimensionDeprivation(
            key=dimension.key,
            name=dimension.name.en,
            households=(
                count := counters.get(f"deprived_dimension.{household_class}.{dimension.key}", 0)
            ),
            share_percent=share(count),
        )
        for dimension in standard.dimensions
    ]
    return ClassDeprivation(
        households=households,
        total_deprivations=counters.get(f"deprivations.{household_class}", 0),
        indicators=indicators,
        dimensions=dimensions,
    )
