"""What one household, or one commune's population, adds to the counters of its units.

Incremental updates apply `new - old` of these counts; a full recalculation sums them afresh. Both
paths use these functions, which is why they give the same figures, and the same cell keys: beside
each count, a counter keeps the sum of the record keys of the households it counts
(`cell_key.py`), from which the figures shown to roles without `small_cells:read` are perturbed.
"""

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

K = TypeVar("K", bound=Hashable)

RESIDENT_HOUSEHOLDS = "households.resident"
RESIDENT_PERSONS = "persons.resident"
SURVEYED_HOUSEHOLDS = "households.surveyed"
COMMUNES_WITH_POPULATION = "communes.with_population"
COMMUNES_MISSING_POPULATION = "communes.missing_population"
COMMUNES_SPLIT = "communes.split"  # restated: as-reported communes split among successors
CLASSES_WITH_DEPRIVATION_ANALYSIS = ("poor", "near_poor")
# The information dimension (telecom use, information devices) is followed for every class, not
# only the poor and near-poor: its deprivations among all households are the seed's focus.
INFORMATION = "information"


@dataclass
class Tally(Generic[K]):
    """Counts by key and, beside each, the sum of the record keys of the households counted.

    Key sums are exact integers, so adding a household and taking it away again (a class change,
    a move) leaves the sum as if it had never been there: the same households, the same key.
    """

    values: Counter[K] = field(default_factory=Counter)
    key_sums: Counter[K] = field(default_factory=Counter)

    def add(self, key: K, value: int, key_sum: int = 0) -> None:
        self.values[key] += value
        self.key_sums[key] += key_sum

    def update(self, other: "Tally[K]") -> None:
        self.values.update(other.values)
        self.key_sums.update(other.key_sums)

    def subtract(self, other: "Tally[K]") -> None:
        self.values.subtract(other.values)
        self.key_sums.subtract(other.key_sums)

    def items(self) -> Iterator[tuple[K, int, int]]:
        """(key, value, key sum) of every key with a nonzero value or key sum."""
        for key in self.values.keys() | self.key_sums.keys():
            value, key_sum = self.values.get(key, 0), self.key_sums.get(key, 0)
            if value or key_sum:
                yield key, value, key_sum

    def __bool__(self) -> bool:
        return any(True for _ in self.items())


Counts = Tally[str]
# Made as `Tally()`, annotated `Counts`: calling the alias goes through `typing` (an object of its
# own per call), 4 % of the indicators worker's time when it was called twice per household.
CounterKey = tuple[UUID, str, str]  # round, unit, metric


def household_counts(
    *,
    household_class: str,
    area: str,
    persons: int,
    deprived: Iterable[Mapping[str, Any]],
    record_key: int,
    households: int = 1,
) -> Counts:
    """Counters for one classified household; `deprived` items carry `key` and `dimension`.

    Counters add up, so `households` classified alike (same class, area and deprivations) count
    as one call with their number, their persons' total and the sum of their record keys: how a
    restatement turns a GROUP BY over classifications into counters.
    """
    counts: Counts = Tally()
    deprived = list(deprived)
    for group in ("surveyed", household_class):
        for suffix in ("", f".{area}"):
            counts.add(f"households.{group}{suffix}", households, record_key)
            counts.add(f"persons.{group}{suffix}", persons, record_key)
    if household_class in CLASSES_WITH_DEPRIVATION_ANALYSIS:
        for indicator in deprived:
            counts.add(f"deprived.{household_class}.{indicator['key']}", households, record_key)
        for dimension in {indicator["dimension"] for indicator in deprived}:
            counts.add(f"deprived_dimension.{household_class}.{dimension}", households, record_key)
        counts.add(f"deprivations.{household_class}", households * len(deprived), record_key)
    counts.update(_information_counts(household_class, deprived, households, record_key))
    return counts


def _information_counts(
    household_class: str, deprived: Iterable[Mapping[str, Any]], households: int, record_key: int
) -> Counts:
    """The information dimension's counters for every class: per indicator and the dimension
    (the analysed classes have those already) and `deprived_together`, deprived in two or more
    of its indicators (both, under the standards' two information indicators)."""
    counts: Counts = Tally()
    keys = [item["key"] for item in deprived if item["dimension"] == INFORMATION]
    if household_class not in CLASSES_WITH_DEPRIVATION_ANALYSIS:
        for key in keys:
            counts.add(f"deprived.{household_class}.{key}", households, record_key)
        if keys:
            counts.add(
                f"deprived_dimension.{household_class}.{INFORMATION}", households, record_key
            )
    if len(keys) >= 2:
        counts.add(f"deprived_together.{household_class}.{INFORMATION}", households, record_key)
    return counts


def population_counts(*, area: str, resident_households: int, resident_persons: int) -> Counts:
    """Counters for one commune's resident population (the rates' denominators, not perturbed)."""
    counts: Counts = Tally()
    for suffix in ("", f".{area}"):
        counts.add(f"{RESIDENT_HOUSEHOLDS}{suffix}", resident_households)
        counts.add(f"{RESIDENT_PERSONS}{suffix}", resident_persons)
    counts.add(COMMUNES_WITH_POPULATION, 1)
    return counts


def difference(new: Counts, old: Counts) -> Counts:
    """new - old, keeping negative values (Counter's `-` would drop them)."""
    delta: Counts = Tally()
    delta.update(new)
    delta.subtract(old)
    return Counts(
        Counter({metric: value for metric, value, _ in delta.items()}),
        Counter({metric: key_sum for metric, _, key_sum in delta.items()}),
    )


def on_units(
    round_id: UUID,
    unit_path: Iterable[str],
    counts: Counts,
    into: Tally[CounterKey] | None = None,
) -> Tally[CounterKey]:
    """`counts` added to every unit of the path, in `into` (returned) or in a new tally.

    The one place where what a household or a commune's population adds to its commune is spread
    over the units above it: incremental updates, a recalculation's totals and the flag of
    communes without population all go through it.
    """
    changes: Tally[CounterKey] = Tally() if into is None else into
    items = list(counts.items())
    for unit in unit_path:
        for metric, value, key_sum in items:
            changes.add((round_id, unit, metric), value, key_sum)
    return changes


def flag_change(change: int) -> Counts:
    """The flag of communes without population moved by `change` (a commune's, or a sum)."""
    counts: Counts = Tally()
    counts.add(COMMUNES_MISSING_POPULATION, change)
    return counts


def missing_population_flag(commune: Mapping[str, int]) -> int:
    """1 when a commune has surveyed households but no resident population entered."""
    surveyed = commune.get(SURVEYED_HOUSEHOLDS, 0) > 0
    return int(surveyed and commune.get(COMMUNES_WITH_POPULATION, 0) == 0)
