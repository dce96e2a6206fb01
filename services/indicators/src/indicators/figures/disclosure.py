"""What callers who see aggregates only (roles without `small_cells:read`) are shown.

One decision for every answer: each commune's leaf cells (counts that no other count determines)
are perturbed by their cell keys (`cell_key.py`), and every other count such a caller can read,
at any level, is a sum of perturbed leaves. Units, their children, urban and rural, class totals,
surveyed totals and total deprivations therefore all add up, and what a caller can learn from
any set of answers is exactly the perturbed leaves: differencing or repeating queries gains
nothing. The official resident population (the rates' denominators) is not perturbed.
"""

from collections import Counter
from collections.abc import Iterable, Mapping

from indicators.figures.cell_key import perturb
from indicators.figures.counts import CLASSES_WITH_DEPRIVATION_ANALYSIS

CLASSES = ("poor", "near_poor", "average", "not_poor")
AREAS = ("urban", "rural")
UNITS = ("households", "persons")
DEPRIVATION_HEADS = ("deprived", "deprived_dimension", "deprived_together")


def is_leaf(metric: str) -> bool:
    """`households|persons.<class>.<area>`, `deprived.<class>.<indicator>`, dimensions, and
    `deprived_together.<class>.<dimension>`."""
    head, _, rest = metric.partition(".")
    if head in UNITS:
        parts = rest.split(".")
        return len(parts) == 2 and parts[0] in CLASSES and parts[1] in AREAS
    return head in DEPRIVATION_HEADS


def is_sensitive(metric: str) -> bool:
    """Counts of households or persons by class or deprivation (not population, not units)."""
    head, _, rest = metric.partition(".")
    if head in UNITS:
        return rest.split(".")[0] != "resident"
    return head in (*DEPRIVATION_HEADS, "deprivations")


def perturbed_leaves(rows: Iterable[tuple[str, int, int]]) -> Counter[str]:
    """The sum of the perturbed leaf cells among `(metric, value, key_sum)` rows of communes."""
    leaves: Counter[str] = Counter()
    for metric, value, key_sum in rows:
        if is_leaf(metric):
            leaves[metric] += perturb(value, key_sum, metric)
    return leaves


def published(counters: Mapping[str, int], leaves: Mapping[str, int]) -> dict[str, int]:
    """A unit's counters as shown: the official ones as they are, the sensitive ones rebuilt
    from its communes' perturbed `leaves` (`perturbed_leaves`), never from the true counts."""
    shown = {metric: value for metric, value in counters.items() if not is_sensitive(metric)}
    shown.update(leaves)
    for unit in UNITS:
        for area in AREAS:
            shown[f"{unit}.surveyed.{area}"] = sum(
                leaves.get(f"{unit}.{household_class}.{area}", 0) for household_class in CLASSES
            )
        for household_class in CLASSES:
            shown[f"{unit}.{household_class}"] = sum(
                leaves.get(f"{unit}.{household_class}.{area}", 0) for area in AREAS
            )
        shown[f"{unit}.surveyed"] = sum(shown[f"{unit}.{c}"] for c in CLASSES)
    for household_class in CLASSES_WITH_DEPRIVATION_ANALYSIS:
        prefix = f"deprived.{household_class}."
        shown[f"deprivations.{household_class}"] = sum(
            value for metric, value in leaves.items() if metric.startswith(prefix)
        )
    return shown
