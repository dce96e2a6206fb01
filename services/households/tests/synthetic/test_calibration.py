"""The synthetic province classified by the real engine under VN-2022-2025.

20,000 households of Vĩnh Phúc's 121 communes. With n = 20,000 a share p has a standard error of
sqrt(p(1-p)/n): 0.07 points at 1%, 0.09 at 1.7%, 0.10 at 2%, 0.14 at 4%. The bounds below allow
about 4 standard errors around the targets (DOMAIN.md §1, §8), and a little more for the commune
effects, so they hold for any seed, not just this one.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from indicators.classification.engine import classify
from indicators.classification.schemas import HouseholdClass
from indicators.standard.service import get_standard
from kit.contracts.households import Area
from synthetic import Commune, assessment_recorded, generate

SAMPLE = 20_000
POOR, NEAR_POOR = HouseholdClass.poor, HouseholdClass.near_poor
TELECOM, DEVICES = "telecom_use", "information_devices"


@dataclass(frozen=True)
class Classified:
    area: Area
    household_class: HouseholdClass
    deprived: frozenset[str]


@pytest.fixture(scope="module")
def classified(vinh_phuc: list[Commune]) -> list[Classified]:
    standard = get_standard("VN-2022-2025")
    results = []
    for item in generate(vinh_phuc, households=SAMPLE, seed=2024):
        result = classify(assessment_recorded(item), standard)
        deprived = frozenset(indicator.key for indicator in result.deprived)
        results.append(Classified(item.area, result.household_class, deprived))
    return results


def share(households: list[Classified], predicate: Callable[[Classified], bool]) -> float:
    return sum(1 for household in households if predicate(household)) / len(households)


def test_about_one_percent_of_households_are_poor(classified: list[Classified]) -> None:
    poor = share(classified, lambda h: h.household_class == POOR)

    assert 0.007 <= poor <= 0.013


def test_about_one_point_seven_percent_are_near_poor(classified: list[Classified]) -> None:
    near_poor = share(classified, lambda h: h.household_class == NEAR_POOR)

    assert 0.012 <= near_poor <= 0.022


def test_some_households_fall_in_the_average_band(classified: list[Classified]) -> None:
    classes = Counter(household.household_class for household in classified)

    assert set(classes) == set(HouseholdClass)
    assert 0.03 <= classes[HouseholdClass.average] / SAMPLE <= 0.09


def test_information_deprivation_is_near_the_national_shares(
    classified: list[Classified],
) -> None:
    # National 2021 (VHLSS): 2.0% deprived in telecom use, 4.5% in information devices.
    assert 0.012 <= share(classified, lambda h: TELECOM in h.deprived) <= 0.030
    assert 0.020 <= share(classified, lambda h: DEVICES in h.deprived) <= 0.050


def test_poor_households_lack_information_far_more_often(classified: list[Classified]) -> None:
    poor = [household for household in classified if household.household_class == POOR]

    for indicator in (TELECOM, DEVICES):
        overall = share(classified, lambda h, key=indicator: key in h.deprived)
        among_poor = share(poor, lambda h, key=indicator: key in h.deprived)
        assert among_poor >= 0.3
        assert among_poor >= 8 * overall


def test_poor_households_are_deprived_in_three_or_more_indicators(
    classified: list[Classified],
) -> None:
    for household in classified:
        if household.household_class == POOR:
            assert len(household.deprived) >= 3


def test_urban_communes_are_less_deprived_than_rural_ones(classified: list[Classified]) -> None:
    urban = [household for household in classified if household.area == Area.urban]
    rural = [household for household in classified if household.area == Area.rural]

    def mean_deprivations(households: list[Classified]) -> float:
        return sum(len(household.deprived) for household in households) / len(households)

    assert 0.2 <= len(urban) / SAMPLE <= 0.35  # 33 of Vĩnh Phúc's 121 communes are urban
    assert mean_deprivations(urban) < 0.8 * mean_deprivations(rural)
    for predicate in (
        lambda h: h.household_class == POOR,
        lambda h: h.household_class in (POOR, NEAR_POOR),
        lambda h: TELECOM in h.deprived,
        lambda h: DEVICES in h.deprived,
    ):
        assert share(urban, predicate) < share(rural, predicate)
