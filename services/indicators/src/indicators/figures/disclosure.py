"""Small-cell suppression for callers who see aggregates only (roles without `small_cells:read`).

A count of households or persons below `k` (but not zero) could point at a family, so it is
withheld (primary suppression); so is every count that would let a withheld one be worked out by
subtraction (secondary suppression): the classes of an area add up to its surveyed total, and
urban plus rural add up to the whole. Among sibling units listed together, a count withheld in
only one of them would follow from the parent's, so the smallest other sibling's goes too.
Suppression works on the counter keys of `counts.py`; the report then shows them as null.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")

CLASSES = ("poor", "near_poor", "average", "not_poor")
AREAS = ("", ".urban", ".rural")
UNITS = ("households", "persons")


def _sensitive(key: str) -> bool:
    """Counts of people by class or deprivation; not the official population or unit counts."""
    head, _, rest = key.partition(".")
    if head in UNITS:
        return rest.split(".")[0] in CLASSES
    return head in {"deprived", "deprived_dimension", "deprivations"}


def _additive_groups() -> list[tuple[list[str], str]]:
    """(cells, total) pairs where the cells add up to a published total."""
    groups = []
    for unit in UNITS:
        for area in AREAS:
            groups.append(([f"{unit}.{c}{area}" for c in CLASSES], f"{unit}.surveyed{area}"))
        for c in CLASSES:
            groups.append(([f"{unit}.{c}.urban", f"{unit}.{c}.rural"], f"{unit}.{c}"))
    return groups


ADDITIVE_GROUPS = _additive_groups()


def withheld(counters: Mapping[str, int], k: int) -> set[str]:
    """The keys of one unit's counters to withhold."""
    hidden = {key for key, value in counters.items() if _sensitive(key) and 0 < value < k}
    _close_groups(counters, hidden)
    return hidden


def withheld_among_siblings(siblings: Sequence[Mapping[str, int]], k: int) -> list[set[str]]:
    """The keys to withhold for each of sibling units shown side by side."""
    hidden = [withheld(counters, k) for counters in siblings]
    changed = True
    while changed:
        changed = False
        for key in sorted(set().union(*hidden)):  # sorted: the same answer every time
            holders = [i for i, keys in enumerate(hidden) if key in keys]
            if len(holders) != 1:
                continue
            partner = _smallest_visible(
                (i, siblings[i].get(key, 0)) for i in range(len(siblings)) if i not in holders
            )
            if partner is not None:
                hidden[partner].add(key)
                _close_groups(siblings[partner], hidden[partner])
                changed = True
    return hidden


def _close_groups(counters: Mapping[str, int], hidden: set[str]) -> None:
    """Withhold more cells until no additive group has exactly one withheld cell."""
    changed = True
    while changed:
        changed = False
        for cells, total in ADDITIVE_GROUPS:
            if total in hidden or sum(cell in hidden for cell in cells) != 1:
                continue
            partner = _smallest_visible(
                (cell, counters.get(cell, 0)) for cell in cells if cell not in hidden
            )
            hidden.add(partner if partner is not None else total)
            changed = True


def _smallest_visible(candidates: Iterable[tuple[T, int]]) -> T | None:
    """The candidate with the smallest positive count (a zero hides nothing)."""
    positive = [(value, index, name) for index, (name, value) in enumerate(candidates) if value > 0]
    return min(positive)[2] if positive else None
