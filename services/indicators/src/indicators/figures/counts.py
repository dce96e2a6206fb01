"""What one household, or one commune's population, adds to the counters of its units.

Incremental updates apply `new - old` of these counts; a full recalculation sums them afresh. Both
paths use these two functions, which is why they give the same figures.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

Counts = Counter[str]

RESIDENT_HOUSEHOLDS = "households.resident"
RESIDENT_PERSONS = "persons.resident"
SURVEYED_HOUSEHOLDS = "households.surveyed"
COMMUNES_WITH_POPULATION = "communes.with_population"
COMMUNES_MISSING_POPULATION = "communes.missing_population"
CLASSES_WITH_DEPRIVATION_ANALYSIS = ("poor", "near_poor")


def household_counts(
    *,
    household_class: str,
    area: str,
    persons: int,
    deprived: Iterable[Mapping[str, Any]],
) -> Counts:
    """Counters for one classified household; `deprived` items carry `key` and `dimension`."""
    counts: Counts = Counter()
    for group in ("surveyed", household_class):
        for suffix in ("", f".{area}"):
            counts[f"households.{group}{suffix}"] += 1
            counts[f"persons.{group}{suffix}"] += persons
    if household_class in CLASSES_WITH_DEPRIVATION_ANALYSIS:
        deprived = list(deprived)
        for indicator in deprived:
            counts[f"deprived.{household_class}.{indicator['key']}"] += 1
        for dimension in {indicator["dimension"] for indicator in deprived}:
            counts[f"deprived_dimension.{household_class}.{dimension}"] += 1
        counts[f"deprivations.{household_class}"] += len(deprived)
    return counts


def population_counts(*, area: str, resident_households: int, resident_persons: int) -> Counts:
    """Counters for one commune's resident population (the rates' denominators)."""
    counts: Counts = Counter()
    for suffix in ("", f".{area}"):
        counts[f"{RESIDENT_HOUSEHOLDS}{suffix}"] += resident_households
        counts[f"{RESIDENT_PERSONS}{suffix}"] += resident_persons
    counts[COMMUNES_WITH_POPULATION] += 1
    return counts


def difference(new: Counts, old: Counts) -> Counts:
    """new - old, keeping negative values (Counter's `-` would drop them)."""
    delta: Counts = Counter()
    for metric in new.keys() | old.keys():
        change = new.get(metric, 0) - old.get(metric, 0)
        if change:
            delta[metric] = change
    return delta


def missing_population_flag(commune: Mapping[str, int]) -> int:
    """1 when a commune has surveyed households but no resident population entered."""
    surveyed = commune.get(SURVEYED_HOUSEHOLDS, 0) > 0
    return int(surveyed and commune.get(COMMUNES_WITH_POPULATION, 0) == 0)
