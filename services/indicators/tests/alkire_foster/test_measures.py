"""Every Alkire–Foster measure against PyPI's `mpitb` (OPHI's toolbox ported to Python) on
synthetic households, to 1e-9.

mpitb takes the cut-off in percent and compares floating scores with `k / 100`: a household
exactly at a cut-off such as 1/12, 4/12 or 6/12 can land a rounding error below it and be left
out, where the exact comparison (ours) counts it as poor. So mpitb is given the cut-off lowered by
1e-9 percentage points; no score lies in that sliver except the households exactly at k, and the
measures are then the same.
"""

import random
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest
from mpitb import MPIToolbox

from indicators.alkire_foster.measures import (
    Tallies,
    equal_nested_weights,
    measures,
    score,
)
from indicators.standard.service import get_standard

STANDARD = get_standard("VN-2022-2025")
KEYS = [indicator.key for indicator in STANDARD.indicators]
CUTOFFS = [Fraction(1, 12), Fraction(3, 12), Fraction(4, 12), Fraction(6, 12), Fraction(1)]
TOLERANCE = 1e-9


def _households(seed: int, n: int = 400) -> list[frozenset[str]]:
    rng = random.Random(seed)
    rates = {key: rng.uniform(0.05, 0.5) for key in KEYS}
    drawn = [frozenset(key for key in KEYS if rng.random() < rates[key]) for _ in range(n)]
    # Exactly at the cut-offs (and deprived in everything, for k = 1), whatever was drawn.
    return [*drawn, *(frozenset(KEYS[:count]) for count in (1, 3, 4, 6, 12))]


def _mpitb(
    households: list[frozenset[str]], k: Fraction, weights: dict[str, Fraction] | None
) -> dict[tuple[str, str | None], float]:
    toolbox = MPIToolbox()
    by_dimension: dict[str, list[str]] = {}
    for indicator in STANDARD.indicators:
        by_dimension.setdefault(indicator.dimension, []).append(indicator.key)
    toolbox.set(name="vn", dimensions=[(keys, name) for name, keys in by_dimension.items()])
    frame = pd.DataFrame([{key: int(key in h) for key in KEYS} for h in households])
    lowered = float(k * 100) - 1e-9  # see the module's docstring
    found: list[dict[str, Any]] = toolbox.est(
        frame,
        "vn",
        klist=[lowered],
        weights="equal" if weights is None else {key: float(w) for key, w in weights.items()},
    )
    return {(row["measure"], row.get("indicator")): float(row["b"]) for row in found}


def _ours(
    households: list[frozenset[str]], k: Fraction, weights: dict[str, Fraction]
) -> tuple[Tallies, Any]:
    tallies = Tallies()
    for deprived in households:
        tallies.add(deprived, weights, k)
    return tallies, measures(tallies, weights, KEYS)


def _unequal_weights(seed: int) -> dict[str, Fraction]:
    rng = random.Random(seed)
    raw = {key: rng.randint(1, 9) for key in KEYS}
    total = sum(raw.values())
    return {key: Fraction(value, total) for key, value in raw.items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", CUTOFFS, ids=str)
@pytest.mark.parametrize("weighting", ["equal nested", "unequal"])
def test_every_measure_matches_mpitb(seed: int, k: Fraction, weighting: str) -> None:
    households = _households(seed)
    weights = (
        equal_nested_weights(STANDARD) if weighting == "equal nested" else _unequal_weights(seed)
    )
    tallies, ours = _ours(households, k, weights)
    theirs = _mpitb(households, k, None if weighting == "equal nested" else weights)
    assert tallies.poor > 0
    assert ours.H == pytest.approx(theirs[("H", None)], abs=TOLERANCE)
    assert ours.A == pytest.approx(theirs[("A", None)], abs=TOLERANCE)
    assert ours.M0 == pytest.approx(theirs[("M0", None)], abs=TOLERANCE)
    for key in KEYS:
        assert ours.censored_headcount[key] == pytest.approx(theirs[("hdk", key)], abs=TOLERANCE)
        assert ours.contribution[key] == pytest.approx(theirs[("pctb", key)], abs=TOLERANCE)
    assert sum(c for c in ours.contribution.values() if c is not None) == 1


def test_equal_nested_weights_are_one_twelfth_for_the_2022_standard() -> None:
    assert set(equal_nested_weights(STANDARD).values()) == {Fraction(1, 12)}


def test_a_household_exactly_at_the_cut_off_is_poor() -> None:
    """Three of twelve at k = 3/12: 3 × 1/12 is exactly 1/4 (in floats 0.25 happens to hold,
    but 1/12 + 1/12 + 1/12 + ... need not: the comparison never depends on it)."""
    weights = equal_nested_weights(STANDARD)
    assert score(KEYS[:3], weights) == Fraction(1, 4)
    tallies = Tallies()
    assert tallies.add(KEYS[:3], weights, Fraction(3, 12))
    assert not tallies.add(KEYS[:2], weights, Fraction(3, 12))
    # The sum in floating point is not exact at every cut-off: 6 × (1/12) < 0.5 in floats.
    floating = sum([1 / 12] * 6)
    assert floating < 0.5
    assert tallies.add(KEYS[:6], weights, Fraction(6, 12))


def test_with_no_poor_household_h_and_m0_are_zero_and_a_is_undefined() -> None:
    households = [frozenset(KEYS[:1]), frozenset()]
    _, ours = _ours(households, Fraction(3, 12), equal_nested_weights(STANDARD))
    assert (ours.H, ours.M0, ours.A) == (0, 0, None)
    assert set(ours.contribution.values()) == {None}
    assert set(ours.censored_headcount.values()) == {0}
    # mpitb reports 0 for A and the contributions where they are undefined.
    theirs = _mpitb(households, Fraction(3, 12), None)
    assert theirs[("A", None)] == 0


def test_mpitb_at_the_exact_cut_off_leaves_out_a_household_at_six_twelfths() -> None:
    """Why mpitb is given a lowered cut-off: at k = 50 %, its floating score of a household
    deprived in 6 of 12 indicators can be 0.49999999999999994, below 0.5 (on this machine, for
    a frame of that one household; in larger frames it depends on how the product is summed)."""
    households = [frozenset(KEYS[:6])]
    _, ours = _ours(households, Fraction(6, 12), equal_nested_weights(STANDARD))
    by_dimension: dict[str, list[str]] = {}
    for indicator in STANDARD.indicators:
        by_dimension.setdefault(indicator.dimension, []).append(indicator.key)
    toolbox = MPIToolbox()
    toolbox.set(name="vn", dimensions=[(keys, name) for name, keys in by_dimension.items()])
    frame = pd.DataFrame([{key: int(key in h) for key in KEYS} for h in households])
    found = toolbox.est(frame, "vn", klist=[50], measures=["H"])
    [mpitb_h] = [row["b"] for row in found if row["measure"] == "H"]
    assert ours.H == 1
    assert mpitb_h == 0
