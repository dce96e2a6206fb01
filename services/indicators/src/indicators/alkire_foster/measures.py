"""Alkire–Foster measures (OPHI), in exact rational arithmetic. Not an official statistic.

With indicator weights `w_j` (summing to 1) and a cut-off `k`, a household's deprivation score is
`c_i = Σ w_j g_ij` (g_ij = 1 when it is deprived in j) and it is multidimensionally poor when
`c_i >= k`. Then `H = q / n`, `A = Σ_poor c_i / q`, `M0 = H · A = Σ_poor c_i / n`, the censored
headcount `h_j = (poor and deprived in j) / n`, and the contribution `φ_j = w_j h_j / M0`
(Σ φ_j = 1). Scores are `Fraction`s, so 3 × 1/12 is exactly 1/4 and a household exactly at the
cut-off is poor (floating point can put it a rounding error below).

Everything is a function of counts (`Tallies`): n, q and the censored counts, so a unit's
measures come from its communes' counts summed, exact or perturbed as every other count.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from indicators.standard.schemas import Standard

DEFAULT_K = Fraction(3, 12)


def equal_nested_weights(standard: Standard) -> dict[str, Fraction]:
    """Each dimension weighs 1/d, shared equally by its indicators (OPHI's usual default): for
    `VN-2022-2025`'s 6 dimensions of 2 indicators, 1/12 each, as DOMAIN §5 says."""
    by_dimension: dict[str, list[str]] = {}
    for indicator in standard.indicators:
        by_dimension.setdefault(indicator.dimension, []).append(indicator.key)
    weights: dict[str, Fraction] = {}
    for keys in by_dimension.values():
        for key in keys:
            weights[key] = Fraction(1, len(by_dimension) * len(keys))
    return weights


def score(deprived: Iterable[str], weights: Mapping[str, Fraction]) -> Fraction:
    """c_i: the sum of the weights of the indicators it is deprived in (unknown keys weigh 0)."""
    return sum((weights.get(key, Fraction(0)) for key in set(deprived)), Fraction(0))


@dataclass
class Tallies:
    """The counts the measures are made of: households, the poor, and per indicator the poor
    deprived in it (censored)."""

    households: int = 0
    poor: int = 0
    censored: Counter[str] = field(default_factory=Counter)

    def add(self, deprived: Iterable[str], weights: Mapping[str, Fraction], k: Fraction) -> bool:
        """Count one household; whether it is poor."""
        keys = set(deprived)
        self.households += 1
        if score(keys, weights) < k:
            return False
        self.poor += 1
        for key in keys:
            if key in weights:
                self.censored[key] += 1
        return True

    def update(self, other: "Tallies") -> None:
        self.households += other.households
        self.poor += other.poor
        self.censored.update(other.censored)


@dataclass(frozen=True)
class Measures:
    """None where a measure is undefined: no household (H, M0), no poor household (A, φ)."""

    households: int
    poor: int
    H: Fraction | None
    A: Fraction | None
    M0: Fraction | None
    censored_headcount: dict[str, Fraction | None]
    contribution: dict[str, Fraction | None]


def measures(tallies: Tallies, weights: Mapping[str, Fraction], order: Sequence[str]) -> Measures:
    """A unit's measures from its tallies; `order`: the indicators, as the answer lists them."""
    n, q = tallies.households, tallies.poor
    if n == 0:
        empty: dict[str, Fraction | None] = dict.fromkeys(order)
        return Measures(0, 0, None, None, None, empty, dict(empty))
    weighted = sum((weights[key] * tallies.censored[key] for key in order), Fraction(0))
    m0 = weighted / n
    headcounts: dict[str, Fraction | None] = {
        key: Fraction(tallies.censored[key], n) for key in order
    }
    if q == 0 or m0 == 0:
        return Measures(n, q, Fraction(q, n), None, m0, headcounts, dict.fromkeys(order))
    contribution: dict[str, Fraction | None] = {
        key: weights[key] * Fraction(tallies.censored[key], n) / m0 for key in order
    }
    return Measures(n, q, Fraction(q, n), weighted / q, m0, headcounts, contribution)
