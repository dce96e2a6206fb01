"""Every threshold of every shipped standard, at its boundary: exactly at it, just below and just
above, in both areas where it differs by area (DOMAIN.md §3–4).

The thresholds are read from the standards' data, never restated, so these tests hold the engine
to whatever the data says: a correction of the data is applied as written, and an engine that
compared the wrong way (`>=` for `>`, an exclusive end for an inclusive one) fails here. What the
data must say is pinned separately: the confirmed values in `test_service.py`, and the shapes the
domain requires (age bands without gaps) here.
"""

from fractions import Fraction
from itertools import combinations, pairwise
from typing import TypeVar

import pytest

from indicators.classification.engine import classify
from indicators.classification.schemas import Classification, HouseholdClass
from indicators.classification.testing import assessment, dwelling, member
from indicators.standard import rules
from indicators.standard.schemas import Standard
from indicators.standard.service import load_standards
from kit.contracts.households import (
    Area,
    AssessmentRecordedV1,
    Device,
    Disability,
    Latrine,
    Qualification,
    SchoolLevel,
    Sex,
    WaterSource,
)

R = TypeVar("R", bound=rules.RuleBase)
STANDARDS = list(load_standards().values())
AREAS = [Area.rural, Area.urban]


def by_standard_and_area() -> list[object]:
    return [
        pytest.param(standard, area, id=f"{standard.id}-{area}")
        for standard in STANDARDS
        for area in AREAS
    ]


def with_rule(kind: type[R]) -> list[object]:
    """(standard, indicator key, rule) for every shipped indicator evaluated by `kind`."""
    return [
        pytest.param(standard, indicator.key, indicator.rule, id=f"{standard.id}-{indicator.key}")
        for standard in STANDARDS
        for indicator in standard.indicators
        if isinstance(indicator.rule, kind)
    ]


def household(standard: Standard, **facts: object) -> AssessmentRecordedV1:
    """The builder's household (deprived in nothing), judged under `standard`."""
    return assessment(standard_id=standard.id, **facts)


def result(standard: Standard, **facts: object) -> Classification:
    return classify(household(standard, **facts), standard)


def deprived(standard: Standard, key: str, **facts: object) -> bool:
    return key in {indicator.key for indicator in result(standard, **facts).deprived}


def with_member(standard: Standard, key: str, **candidate: object) -> bool:
    """Whether a household of an adult and the candidate member is deprived in `key`."""
    return deprived(standard, key, members=[member(1), member(2, **candidate)])


def ages_in(bands: list[rules.SchoolBand] | list[rules.QualificationBand]) -> range:
    return range(min(b.min_years for b in bands), max(b.max_years for b in bands) + 1)


# --- The income test and the class -----------------------------------------------------------


@pytest.mark.parametrize(("standard", "area"), by_standard_and_area())
def test_measured_income_at_the_line_and_the_average_bands_top(
    standard: Standard, area: Area
) -> None:
    line = standard.income_test.poverty_line.for_area(area)
    upper = standard.income_test.average_band_upper.for_area(area)

    def household_class(income: int) -> HouseholdClass:
        facts = {"area": area, "income_score_a": None, "monthly_income_per_person": income}
        return result(standard, **facts).household_class

    near_poor, average = HouseholdClass.near_poor, HouseholdClass.average
    assert [household_class(income) for income in (line - 1, line, line + 1)] == [
        near_poor,
        near_poor,
        average,
    ]
    assert [household_class(income) for income in (upper - 1, upper, upper + 1)] == [
        average,
        average,
        HouseholdClass.not_poor,
    ]


@pytest.mark.parametrize(("standard", "area"), by_standard_and_area())
def test_after_a_failed_score_the_average_band_starts_just_above_the_line(
    standard: Standard, area: Area
) -> None:
    line = standard.income_test.poverty_line.for_area(area)
    failed = standard.income_test.score_cutoff.for_area(area) + 1

    found = [
        result(
            standard, area=area, income_score_a=failed, monthly_income_per_person=income
        ).household_class
        for income in (line, line + 1)
    ]

    assert found == [HouseholdClass.not_poor, HouseholdClass.average]


@pytest.mark.parametrize(("standard", "area"), by_standard_and_area())
def test_score_a_at_the_cut_off(standard: Standard, area: Area) -> None:
    cutoff = standard.income_test.score_cutoff.for_area(area)

    passed = [
        result(standard, area=area, income_score_a=score).income_test.passed
        for score in (cutoff - 1, cutoff, cutoff + 1)
    ]

    assert passed == [True, True, False]


def deprived_in(standard: Standard, count: int, area: Area) -> Classification:
    """The builder's household made deprived in `count` indicators (at most six)."""
    unsafe = _rule(standard, rules.UnsafeWater).safe_sources
    hygienic = _rule(standard, rules.UnhygienicLatrine).hygienic
    employment = _rule(standard, rules.WorkingAgeMemberUnemployedOrUncontracted)
    household_wide: list[dict[str, object]] = [
        {"water_source": next(source for source in WaterSource if source not in unsafe)},
        {"latrine": next(latrine for latrine in Latrine if latrine not in hygienic)},
        {"internet_use": False},
        {"dwelling": dwelling(has_dwelling=False)},
    ]
    facts: dict[str, object] = {"area": area}
    for extra in household_wide[:count]:
        facts |= extra
    uninsured = {"has_health_insurance": False} if count > 4 else {}
    unemployed = {"working_status": employment.unemployed_statuses[0]} if count > 5 else {}
    facts["members"] = [member(1, **uninsured), member(2, **unemployed)]
    classified = result(standard, **facts)
    assert classified.deprivation_count == count
    return classified


def _rule(standard: Standard, kind: type[R]) -> R:
    rule = next(i.rule for i in standard.indicators if isinstance(i.rule, kind))
    assert isinstance(rule, kind)
    return rule


@pytest.mark.parametrize(("standard", "area"), by_standard_and_area())
def test_score_b_at_the_poor_minimum(standard: Standard, area: Area) -> None:
    points = standard.deprivation_score.points_per_indicator
    needed = -(-standard.deprivation_score.poor_min_score // points)  # the count that reaches it

    below, at, above = (
        deprived_in(standard, count, area) for count in (needed - 1, needed, needed + 1)
    )

    assert [r.deprivation_score for r in (below, at, above)] == [
        points * (needed - 1),
        points * needed,
        points * (needed + 1),
    ]
    assert [r.household_class for r in (below, at, above)] == [
        HouseholdClass.near_poor,
        HouseholdClass.poor,
        HouseholdClass.poor,
    ]


# --- Low-income workers (Decree 30/2025) -----------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "area"),
    [
        pytest.param(standard, area, id=f"{standard.id}-{area}")
        for standard in STANDARDS
        if standard.low_income_worker is not None
        for area in AREAS
    ],
)
def test_low_income_workers_at_the_ceiling(standard: Standard, area: Area) -> None:
    assert standard.low_income_worker is not None
    ceiling = standard.low_income_worker.income_ceiling.for_area(area)
    working_age = standard.working_age.by_sex.male
    members = [
        member(1, age_years=working_age.max_years),
        member(2, age_years=working_age.max_years + 1),
    ]

    def flagged(income: int) -> list[int] | None:
        facts = {"area": area, "income_score_a": None, "monthly_income_per_person": income}
        return result(standard, members=members, **facts).low_income_worker_members

    assert [flagged(income) for income in (ceiling - 1, ceiling, ceiling + 1)] == [[1], [1], []]


# --- Employment and dependants ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "key", "rule"), with_rule(rules.WorkingAgeMemberUnemployedOrUncontracted)
)
@pytest.mark.parametrize("sex", list(Sex))
def test_working_age_ends_for_employment(
    standard: Standard, key: str, rule: rules.WorkingAgeMemberUnemployedOrUncontracted, sex: Sex
) -> None:
    ages = standard.working_age.by_sex.for_sex(sex)
    unemployed = {"sex": sex, "working_status": rule.unemployed_statuses[0]}
    uncontracted = {
        "sex": sex,
        "working_status": rule.wage_statuses[0],
        "has_labour_contract": False,
    }

    for facts in (unemployed, uncontracted):
        edges = (ages.min_years - 1, ages.min_years, ages.max_years, ages.max_years + 1)
        found = [with_member(standard, key, age_years=age, **facts) for age in edges]
        assert found == [False, True, True, False], facts


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.DependantShareAbove))
class TestDependants:
    @staticmethod
    def deprived_with(
        standard: Standard,
        key: str,
        rule: rules.DependantShareAbove,
        extra: int,
        **candidate: object,
    ) -> bool:
        """Whether a household whose dependants are exactly `share` of its members, give or take
        `extra`, is deprived once one of its other members is replaced by the candidate."""
        size = 4 * Fraction(rule.share).limit_denominator(60).denominator
        at_share = int(rule.share * size)
        child = {"age_years": rule.child_ages.min_years}
        members = [member(1)]
        members += [member(n, **child) for n in range(2, 2 + at_share + extra)]
        members += [member(len(members) + 1, **candidate)]
        members += [member(n) for n in range(len(members) + 1, size + 1)]
        assert len(members) == size
        return deprived(standard, key, members=members)

    def test_the_share_is_exclusive(
        self, standard: Standard, key: str, rule: rules.DependantShareAbove
    ) -> None:
        found = [self.deprived_with(standard, key, rule, extra) for extra in (-1, 0, 1)]

        assert found == [False, False, True]

    def test_a_child_up_to_the_last_age_of_childhood(
        self, standard: Standard, key: str, rule: rules.DependantShareAbove
    ) -> None:
        last = rule.child_ages.max_years
        found = [
            self.deprived_with(standard, key, rule, 0, age_years=age) for age in (last, last + 1)
        ]

        assert found == [True, False]

    @pytest.mark.parametrize("sex", list(Sex))
    def test_an_elderly_member_beyond_working_age_without_pension(
        self, standard: Standard, key: str, rule: rules.DependantShareAbove, sex: Sex
    ) -> None:
        last = standard.working_age.by_sex.for_sex(sex).max_years

        found = [
            self.deprived_with(standard, key, rule, 0, sex=sex, age_years=age)
            for age in (last, last + 1)
        ]
        with_pension = self.deprived_with(
            standard, key, rule, 0, sex=sex, age_years=last + 1, receives_pension_or_allowance=True
        )

        assert found == [False, True]
        assert with_pension is False

    @pytest.mark.parametrize("disability", list(Disability))
    def test_a_member_with_a_listed_disability(
        self, standard: Standard, key: str, rule: rules.DependantShareAbove, disability: Disability
    ) -> None:
        found = self.deprived_with(standard, key, rule, 0, disability=disability)

        assert found is (disability in rule.disabilities)


# --- Health ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.ChildMalnourished))
@pytest.mark.parametrize("problem", ["stunted", "underweight"])
def test_nutrition_counts_children_only(
    standard: Standard, key: str, rule: rules.ChildMalnourished, problem: str
) -> None:
    ages = rule.child_ages
    edges = [ages.min_years, ages.max_years, ages.max_years + 1]
    if ages.min_years > 0:
        edges.insert(0, ages.min_years - 1)

    found = [with_member(standard, key, age_years=age, **{problem: True}) for age in edges]

    assert found == [ages.contains(age) for age in edges]
    assert found[-2:] == [True, False]


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.MemberWithoutInsurance))
def test_health_insurance_from_its_minimum_age(
    standard: Standard, key: str, rule: rules.MemberWithoutInsurance
) -> None:
    first = rule.min_age_years
    found = [
        with_member(standard, key, age_years=age, has_health_insurance=False)
        for age in (first - 1, first, first + 1)
    ]

    assert found == [False, True, True]


# --- Education -------------------------------------------------------------------------------


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.AdultEducationShortfall))
class TestAdultEducation:
    def test_every_age_of_the_bands_counts_and_none_outside(
        self, standard: Standard, key: str, rule: rules.AdultEducationShortfall
    ) -> None:
        ages = ages_in(rule.bands)
        none = {"highest_qualification": Qualification.none}

        assert all(with_member(standard, key, age_years=age, **none) for age in ages)
        assert not with_member(standard, key, age_years=ages.start - 1, **none)
        assert not with_member(standard, key, age_years=ages.stop, **none)

    def test_each_band_at_both_ends(
        self, standard: Standard, key: str, rule: rules.AdultEducationShortfall
    ) -> None:
        for band in rule.bands:
            for age in (band.min_years, band.max_years):
                for qualification in Qualification:
                    found = with_member(
                        standard, key, age_years=age, highest_qualification=qualification
                    )
                    assert found is (qualification not in band.accepted), (age, qualification)
                in_training = with_member(
                    standard,
                    key,
                    age_years=age,
                    highest_qualification=Qualification.none,
                    attending_school=True,
                    school_level=SchoolLevel.vocational,
                )
                assert in_training is False, age

    def test_a_qualification_enough_at_the_end_of_a_band_is_short_the_day_the_next_begins(
        self, standard: Standard, key: str, rule: rules.AdultEducationShortfall
    ) -> None:
        ordered = sorted(rule.bands, key=lambda band: band.min_years)
        splits = 0
        for lower, upper in pairwise(ordered):
            for qualification in set(lower.accepted) - set(upper.accepted):
                facts = {"highest_qualification": qualification}
                assert not with_member(standard, key, age_years=lower.max_years, **facts)
                assert with_member(standard, key, age_years=upper.min_years, **facts)
                splits += 1
        assert splits >= len(ordered) - 1


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.ChildNotInSchool))
class TestSchoolAttendance:
    def test_every_age_of_the_bands_counts_and_none_outside(
        self, standard: Standard, key: str, rule: rules.ChildNotInSchool
    ) -> None:
        ages = ages_in(rule.bands)

        missing = [age for age in ages if not with_member(standard, key, age_years=age)]

        assert missing == [], "ages of the range no band covers"
        assert not with_member(standard, key, age_years=ages.start - 1)
        assert not with_member(standard, key, age_years=ages.stop)

    def test_each_band_at_both_ends_accepts_its_levels_only(
        self, standard: Standard, key: str, rule: rules.ChildNotInSchool
    ) -> None:
        for band in rule.bands:
            for age in (band.min_years, band.max_years):
                for level in SchoolLevel:
                    found = with_member(
                        standard, key, age_years=age, attending_school=True, school_level=level
                    )
                    assert found is (level not in band.levels), (age, level)

    def test_the_level_expected_changes_the_year_the_next_band_begins(
        self, standard: Standard, key: str, rule: rules.ChildNotInSchool
    ) -> None:
        ordered = sorted(rule.bands, key=lambda band: band.min_years)
        for lower, upper in pairwise(ordered):
            assert lower.max_years + 1 == upper.min_years, "bands leave a gap"
            for level in set(lower.levels) - set(upper.levels):
                facts = {"attending_school": True, "school_level": level}
                assert not with_member(standard, key, age_years=lower.max_years, **facts)
                assert with_member(standard, key, age_years=upper.min_years, **facts)


# --- Housing, water and sanitation, information ----------------------------------------------

PARTS = ("walls_durable", "columns_durable", "roof_durable")


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.NonDurableDwelling))
def test_housing_quality_at_the_number_of_non_durable_parts(
    standard: Standard, key: str, rule: rules.NonDurableDwelling
) -> None:
    for count in range(len(PARTS) + 1):
        for parts in combinations(PARTS, count):
            facts = dwelling(**{part: False for part in parts})
            found = deprived(standard, key, dwelling=facts)
            assert found is (count >= rule.min_non_durable_parts), parts
    assert deprived(standard, key, dwelling=dwelling(has_dwelling=False))


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.FloorAreaPerPersonBelow))
@pytest.mark.parametrize("size", [1, 3, 7])
def test_floor_area_per_person_at_the_minimum(
    standard: Standard, key: str, rule: rules.FloorAreaPerPersonBelow, size: int
) -> None:
    members = [member(1)] + [member(n) for n in range(2, size + 1)]
    at = rule.min_m2_per_person * size

    found = [
        deprived(standard, key, members=members, dwelling=dwelling(floor_area_m2=area))
        for area in (at - 0.01, at, at + 0.01)
    ]

    assert found == [True, False, False]


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.UnsafeWater))
@pytest.mark.parametrize("source", list(WaterSource))
def test_each_water_source(
    standard: Standard, key: str, rule: rules.UnsafeWater, source: WaterSource
) -> None:
    assert deprived(standard, key, water_source=source) is (source not in rule.safe_sources)


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.UnhygienicLatrine))
@pytest.mark.parametrize("latrine", list(Latrine))
def test_each_latrine(
    standard: Standard, key: str, rule: rules.UnhygienicLatrine, latrine: Latrine
) -> None:
    assert deprived(standard, key, latrine=latrine) is (latrine not in rule.hygienic)


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.NoInternetUse))
def test_internet_use(standard: Standard, key: str, rule: rules.NoInternetUse) -> None:
    assert [deprived(standard, key, internet_use=use) for use in (True, False)] == [False, True]


@pytest.mark.parametrize(("standard", "key", "rule"), with_rule(rules.NoInformationDevice))
@pytest.mark.parametrize("device", list(Device))
def test_each_device_alone(
    standard: Standard, key: str, rule: rules.NoInformationDevice, device: Device
) -> None:
    assert deprived(standard, key, devices=[device]) is (device not in rule.devices)
    assert deprived(standard, key, devices=[])


def test_every_rule_kind_of_the_shipped_standards_is_tested_here() -> None:
    tested = {
        rules.WorkingAgeMemberUnemployedOrUncontracted,
        rules.DependantShareAbove,
        rules.ChildMalnourished,
        rules.MemberWithoutInsurance,
        rules.AdultEducationShortfall,
        rules.ChildNotInSchool,
        rules.NonDurableDwelling,
        rules.FloorAreaPerPersonBelow,
        rules.UnsafeWater,
        rules.UnhygienicLatrine,
        rules.NoInternetUse,
        rules.NoInformationDevice,
    }
    shipped = {
        type(indicator.rule)
        for standard in STANDARDS
        for indicator in standard.indicators
        if indicator.rule is not None
    }

    assert shipped <= tested
