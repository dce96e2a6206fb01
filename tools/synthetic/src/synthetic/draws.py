"""What the generator draws with: look-ups for the reference date, chances in a commune.

`Payload` is the raw input the API's models validate (`HouseholdCreate`, `AssessmentInput`): the
core builds it as plain dicts because that is the fastest input pydantic takes.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from synthetic.calibration import Calibration, Profile

Payload = dict[str, Any]  # a model's input, validated by the model itself
MAX_AGE = 100
CAP = 0.95  # no chance scaled by a commune's risk goes above this


class Context:
    """What every commune shares: the calibration and look-ups for the reference date."""

    def __init__(self, reference_date: date, calibration: Calibration) -> None:
        self.calibration = calibration
        # Children enter grade 1 in September of the calendar year they turn 6.
        school_year = reference_date.year - (reference_date.month < 9)
        latest = [_latest_birth(reference_date, age) for age in range(MAX_AGE + 2)]
        oldest = latest[MAX_AGE + 1].toordinal() + 1
        # Every possible birth day, oldest first, with the school cohort it belongs to (6 in
        # grade 1, 11 in grade 6, 15 in grade 10); building dates on the fly is slow.
        self.births = [
            date.fromordinal(day) for day in range(oldest, reference_date.toordinal() + 1)
        ]
        self.cohorts = [school_year - birth.year for birth in self.births]
        # Born on births[first + i], 0 <= i < span, ⇔ `age` completed years on the reference date.
        self.first_birth = [latest[age + 1].toordinal() + 1 - oldest for age in range(MAX_AGE + 1)]
        self.birth_span = [
            latest[age].toordinal() - latest[age + 1].toordinal() for age in range(MAX_AGE + 1)
        ]


def _latest_birth(on: date, age: int) -> date:
    """The last birth date at which someone has completed `age` years on `on`."""
    try:
        return on.replace(year=on.year - age)
    except ValueError:  # 29 February in a year without one
        return on.replace(year=on.year - age, day=28)


RISK_SCALED = (
    "no_contract",
    "unemployed",
    "uninsured",
    "malnourished",
    "undereducated",
    "dropout",
    "non_durable",
    "no_dwelling",
    "cramped",
    "unsafe_water",
    "unhygienic_latrine",
    "offline_elderly",
    "offline",
    "no_device_offline",
    "no_device_online",
)


@dataclass(frozen=True, slots=True)
class Chances:
    """A standing's profile in one commune: risk applied, weights made cumulative."""

    profile: Profile
    kinds: tuple[float, ...]
    children: tuple[float, ...]
    wage_share: float


def chances(profile: Profile, risk: float, wage_bonus: float) -> Chances:
    """`profile` in a commune of relative `risk`, where `wage_bonus` more work for wages."""
    scaled = {name: min(CAP, getattr(profile, name) * risk) for name in RISK_SCALED}
    return Chances(
        profile=replace(profile, **scaled),
        kinds=cumulative(profile.kinds),
        children=cumulative(profile.children),
        wage_share=profile.wage_share + wage_bonus,
    )


def cumulative(weights: Sequence[float]) -> tuple[float, ...]:
    """Cumulative shares of `weights`, ending at exactly 1: `values[bisect(bounds, draw)]`."""
    total, running = sum(weights), 0.0
    cumulative = []
    for weight in weights:
        running += weight
        cumulative.append(running / total)
    cumulative[-1] = 1.0
    return tuple(cumulative)
