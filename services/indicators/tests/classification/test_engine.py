"""Household classes, the income test and the flags around them (DOMAIN.md §3)."""

import pytest

from indicators.classification.engine import classify
from indicators.classification.schemas import HouseholdClass, IncomeTestMethod
from indicators.classification.testing import assessment, dwelling, member
from indicators.standard.service import get_standard
from kit.contracts.households import Area, AssessmentRecordedV1, Latrine, WaterSource

CURRENT = get_standard("VN-2022-2025")
UPCOMING = get_standard("VN-2027-2030")


# Each fact deprives the household in one indicator of VN-2022-2025, in the standard's order.
DEPRIVING_FACTS: dict[str, object] = {
    "water_source": WaterSource.surface_water,
    "latrine": Latrine.hanging,
    "internet_use": False,
    "devices": [],
}


def deprived_in(count: int, **overrides: object) -> AssessmentRecordedV1:
    """A household deprived in exactly the first `count` (0-4) of the DEPRIVING_FACTS."""
    facts = dict(list(DEPRIVING_FACTS.items())[:count])
    return assessment(**(facts | overrides))


def household_class(household: AssessmentRecordedV1) -> HouseholdClass:
    return classify(household, CURRENT).household_class


class TestPoorAndNearPoor:
    def test_two_deprivations_under_the_line_is_near_poor(self) -> None:
        result = classify(deprived_in(2), CURRENT)

        assert result.deprivation_count == 2
        assert result.deprivation_score == 20
        assert result.household_class is HouseholdClass.near_poor

    def test_three_deprivations_under_the_line_is_poor(self) -> None:
        result = classify(deprived_in(3), CURRENT)

        assert result.deprivation_count == 3
        assert result.deprivation_score == 30
        assert result.household_class is HouseholdClass.poor
        assert [item.key for item in result.deprived] == [
            "domestic_water",
            "hygienic_latrine",
            "telecom_use",
        ]

    def test_above_the_line_with_many_deprivations_is_never_poor(self) -> None:
        no_dwelling = dwelling(has_dwelling=False, floor_area_m2=0)  # housing and floor area

        result = classify(deprived_in(4, dwelling=no_dwelling, income_score_a=141), CURRENT)

        assert result.deprivation_count == 6
        assert result.household_class is HouseholdClass.not_poor


class TestScoreTest:
    @pytest.mark.parametrize(
        ("area", "score", "passed"),
        [
            (Area.rural, 140, True),
            (Area.rural, 141, False),
            (Area.urban, 175, True),
            (Area.urban, 176, False),
        ],
    )
    def test_cut_off_is_inclusive(self, area: Area, score: int, passed: bool) -> None:
        result = classify(deprived_in(3, area=area, income_score_a=score), CURRENT)

        assert result.income_test.method is IncomeTestMethod.score
        assert result.income_test.passed is passed
        expected = HouseholdClass.poor if passed else HouseholdClass.not_poor
        assert result.household_class is expected

    def test_score_decides_even_when_income_is_above_the_band(self) -> None:
        result = classify(
            deprived_in(3, income_score_a=120, monthly_income_per_person=5_000_000), CURRENT
        )

        assert result.income_test.method is IncomeTestMethod.score
        assert result.household_class is HouseholdClass.poor

    def test_failed_score_with_income_in_the_band_is_average(self) -> None:
        household = assessment(income_score_a=160, monthly_income_per_person=2_000_000)

        result = classify(household, CURRENT)

        assert result.household_class is HouseholdClass.average
        assert result.income_test.in_average_band is True

    def test_failed_score_with_income_under_the_line_is_not_poor(self) -> None:
        household = assessment(income_score_a=160, monthly_income_per_person=1_000_000)

        assert household_class(household) is HouseholdClass.not_poor

    def test_failed_score_without_income_is_not_poor(self) -> None:
        result = classify(assessment(income_score_a=160), CURRENT)

        assert result.household_class is HouseholdClass.not_poor
        assert result.income_test.in_average_band is None
        assert result.income_test.explanation == "score A 160 > 140 (rural)"


class TestIncomeTest:
    @pytest.mark.parametrize(
        ("area", "income", "expected"),
        [
            (Area.rural, 1_500_000, HouseholdClass.near_poor),
            (Area.rural, 1_500_001, HouseholdClass.average),
            (Area.rural, 2_250_000, HouseholdClass.average),
            (Area.rural, 2_250_001, HouseholdClass.not_poor),
            (Area.urban, 2_000_000, HouseholdClass.near_poor),
            (Area.urban, 2_000_001, HouseholdClass.average),
            (Area.urban, 3_000_000, HouseholdClass.average),
            (Area.urban, 3_000_001, HouseholdClass.not_poor),
        ],
    )
    def test_line_and_band_top_are_inclusive(
        self, area: Area, income: int, expected: HouseholdClass
    ) -> None:
        household = assessment(area=area, income_score_a=None, monthly_income_per_person=income)

        result = classify(household, CURRENT)

        assert result.income_test.method is IncomeTestMethod.income
        assert result.household_class is expected

    def test_records_the_line_and_band_applied(self) -> None:
        household = assessment(
            area=Area.urban, income_score_a=None, monthly_income_per_person=2_500_000
        )

        test = classify(household, CURRENT).income_test

        assert (test.limit_applied, test.income_line, test.average_band_upper) == (
            2_000_000,
            2_000_000,
            3_000_000,
        )
        assert test.passed is False
        assert test.in_average_band is True

    def test_measured_income_under_the_line_with_three_deprivations_is_poor(self) -> None:
        household = deprived_in(3, income_score_a=None, monthly_income_per_person=1_200_000)

        assert household_class(household) is HouseholdClass.poor


class TestLowIncomeWorkers:
    def test_working_age_members_of_an_average_household_are_flagged(self) -> None:
        household = assessment(
            members=[member(1), member(2, age_years=10), member(3, age_years=75)],
            income_score_a=None,
            monthly_income_per_person=2_250_000,
        )

        result = classify(household, CURRENT)

        assert result.household_class is HouseholdClass.average
        assert result.low_income_worker_members == [1]

    def test_income_above_the_ceiling_flags_nobody(self) -> None:
        household = assessment(
            area=Area.urban, income_score_a=None, monthly_income_per_person=3_000_001
        )

        assert classify(household, CURRENT).low_income_worker_members == []

    def test_urban_ceiling_is_inclusive(self) -> None:
        household = assessment(
            area=Area.urban, income_score_a=None, monthly_income_per_person=3_000_000
        )

        assert classify(household, CURRENT).low_income_worker_members == [1, 2]

    def test_near_poor_household_members_are_not_low_income_workers(self) -> None:
        household = assessment(income_score_a=None, monthly_income_per_person=1_000_000)

        assert classify(household, CURRENT).low_income_worker_members == []

    def test_undecided_without_measured_income(self) -> None:
        result = classify(assessment(income_score_a=160), CURRENT)

        assert result.low_income_worker_members is None


class TestProvisionalStandard:
    def test_indicators_without_inputs_are_not_evaluated(self) -> None:
        result = classify(deprived_in(4), UPCOMING)

        assert result.not_evaluated == ["waste_handling", "digital_service_use"]
        assert "information_devices" not in {item.key for item in result.deprived}
        assert result.deprivation_count == 3
        assert result.provisional is True

    def test_uses_the_new_income_lines(self) -> None:
        household = assessment(income_score_a=None, monthly_income_per_person=2_200_000)

        result = classify(household, UPCOMING)

        assert result.income_test.passed is True
        assert result.household_class is HouseholdClass.near_poor

    def test_current_standard_evaluates_everything_and_is_not_provisional(self) -> None:
        result = classify(assessment(), CURRENT)

        assert result.not_evaluated == []
        assert result.provisional is False


class TestRejectedInputs:
    def test_household_without_members_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="has no members"):
            classify(assessment(members=[]), CURRENT)

    def test_household_without_score_or_income_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="neither score A nor measured income"):
            classify(assessment(income_score_a=None), CURRENT)

    def test_province_standard_rejects_households_of_another_province(self) -> None:
        local = CURRENT.model_copy(update={"id": "VN-2022-2025-P25", "province_code": "25"})

        with pytest.raises(ValueError, match="applies to province 25 only"):
            classify(assessment(unit_path=["26", "243", "08707"]), local)

    def test_province_standard_classifies_its_own_households(self) -> None:
        local = CURRENT.model_copy(update={"id": "VN-2022-2025-P26", "province_code": "26"})

        assert classify(assessment(), local).standard_id == "VN-2022-2025-P26"


def test_result_records_standard_and_area() -> None:
    result = classify(assessment(area=Area.urban), CURRENT)

    assert (result.standard_id, result.area) == ("VN-2022-2025", Area.urban)
