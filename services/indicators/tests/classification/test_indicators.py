"""Each indicator of VN-2022-2025, deprived and not, at the boundaries DOMAIN.md names."""

import pytest

from indicators.classification.engine import classify
from indicators.classification.schemas import DeprivedIndicator
from indicators.classification.testing import assessment, dwelling, member
from indicators.standard.service import get_standard
from kit.contracts.households import (
    AssessmentRecordedV1,
    Device,
    Disability,
    Latrine,
    Qualification,
    SchoolLevel,
    Sex,
    WaterSource,
    WorkingStatus,
)

CURRENT = get_standard("VN-2022-2025")


def deprivation(household: AssessmentRecordedV1, key: str) -> DeprivedIndicator | None:
    found = [item for item in classify(household, CURRENT).deprived if item.key == key]
    return found[0] if found else None


def adult_with(age_years: int, **facts: object) -> AssessmentRecordedV1:
    """A household of the default head plus member 2, described by `facts`."""
    return assessment(members=[member(1), member(2, age_years=age_years, **facts)])


def test_the_default_household_is_deprived_in_nothing() -> None:
    assert classify(assessment(), CURRENT).deprived == []


class TestEmployment:
    def test_unemployed_member_of_working_age_is_deprived(self) -> None:
        found = deprivation(adult_with(30, working_status=WorkingStatus.unemployed), "employment")

        assert found is not None
        assert found.dimension == "employment"
        assert found.member_nos == [2]
        assert found.explanation == "member 2 (age 30) is unemployed"

    def test_wage_worker_without_contract_is_deprived(self) -> None:
        household = adult_with(
            30, working_status=WorkingStatus.wage_worker, has_labour_contract=False
        )

        found = deprivation(household, "employment")

        assert found is not None
        assert "without a labour contract" in found.explanation

    @pytest.mark.parametrize("has_contract", [True, None])
    def test_wage_worker_with_or_without_recorded_contract_is_not_deprived(
        self, has_contract: bool | None
    ) -> None:
        household = adult_with(
            30, working_status=WorkingStatus.wage_worker, has_labour_contract=has_contract
        )

        assert deprivation(household, "employment") is None

    @pytest.mark.parametrize(
        ("age_years", "sex", "deprived"),
        [
            (14, Sex.male, False),
            (15, Sex.male, True),
            (60, Sex.male, True),
            (61, Sex.male, False),
            (55, Sex.female, True),
            (56, Sex.female, False),
        ],
    )
    def test_only_working_age_counts(self, age_years: int, sex: Sex, deprived: bool) -> None:
        household = adult_with(age_years, sex=sex, working_status=WorkingStatus.unemployed)

        assert (deprivation(household, "employment") is not None) is deprived


class TestDependants:
    def test_exactly_half_dependants_is_not_deprived(self) -> None:
        household = assessment(
            members=[member(1), member(2), member(3, age_years=4), member(4, age_years=15)]
        )

        assert deprivation(household, "dependants") is None

    def test_just_above_half_is_deprived(self) -> None:
        household = assessment(
            members=[
                member(1),
                member(2),
                member(3, age_years=4),
                member(4, age_years=15),
                member(5, age_years=9),
            ]
        )

        found = deprivation(household, "dependants")

        assert found is not None
        assert found.member_nos == [3, 4, 5]
        assert found.explanation.startswith("3 of 5 members are dependants (60% > 50%)")

    @pytest.mark.parametrize(
        ("facts", "dependant"),
        [
            ({"age_years": 15}, True),
            ({"age_years": 16}, False),
            ({"age_years": 70}, True),
            ({"age_years": 70, "receives_pension_or_allowance": True}, False),
            ({"age_years": 56, "sex": Sex.female}, True),
            ({"age_years": 56, "sex": Sex.male}, False),
            ({"disability": Disability.severe}, True),
            ({"disability": Disability.especially_severe}, True),
            ({"disability": Disability.mild}, False),
        ],
    )
    def test_who_counts_as_a_dependant(self, facts: dict[str, object], dependant: bool) -> None:
        # One dependant of two members is exactly half; a second makes it all.
        household = assessment(members=[member(1, age_years=8), member(2, **facts)])

        assert (deprivation(household, "dependants") is not None) is dependant


class TestNutrition:
    @pytest.mark.parametrize("fact", ["stunted", "underweight"])
    def test_malnourished_child_is_deprived(self, fact: str) -> None:
        found = deprivation(adult_with(3, **{fact: True}), "nutrition")

        assert found is not None
        assert found.explanation == f"member 2 (age 3) is {fact}"

    def test_child_of_15_counts_and_person_of_16_does_not(self) -> None:
        assert deprivation(adult_with(15, stunted=True), "nutrition") is not None
        assert deprivation(adult_with(16, stunted=True), "nutrition") is None


class TestHealthInsurance:
    def test_uninsured_member_of_6_is_deprived(self) -> None:
        found = deprivation(adult_with(6, has_health_insurance=False), "health_insurance")

        assert found is not None
        assert found.member_nos == [2]

    def test_uninsured_child_of_5_is_not_deprived(self) -> None:
        assert deprivation(adult_with(5, has_health_insurance=False), "health_insurance") is None


class TestAdultEducation:
    @pytest.mark.parametrize(
        ("age_years", "qualification", "deprived"),
        [
            (15, Qualification.primary, False),
            (16, Qualification.primary, True),
            (16, Qualification.lower_secondary, False),
            (18, Qualification.lower_secondary, True),
            (18, Qualification.vocational_certificate, False),
            (30, Qualification.lower_secondary, True),
            (31, Qualification.lower_secondary, False),
        ],
    )
    def test_qualification_expected_for_the_age(
        self, age_years: int, qualification: Qualification, deprived: bool
    ) -> None:
        household = adult_with(age_years, highest_qualification=qualification)

        assert (deprivation(household, "adult_education") is not None) is deprived

    def test_person_in_training_is_not_deprived(self) -> None:
        household = adult_with(
            20,
            highest_qualification=Qualification.lower_secondary,
            attending_school=True,
            school_level=SchoolLevel.vocational,
        )

        assert deprivation(household, "adult_education") is None

    def test_explanation_names_member_and_qualification(self) -> None:
        found = deprivation(
            adult_with(17, highest_qualification=Qualification.primary), "adult_education"
        )

        assert found is not None
        assert found.explanation.startswith(
            "member 2 (age 17) is not in training and holds primary, not one of lower_secondary"
        )


class TestSchoolAttendance:
    def test_child_of_3_not_in_school_is_deprived(self) -> None:
        found = deprivation(adult_with(3), "school_attendance")

        assert found is not None
        assert found.explanation == "member 2 (age 3) does not attend school"

    def test_child_of_2_not_in_school_is_not_deprived(self) -> None:
        assert deprivation(adult_with(2), "school_attendance") is None

    def test_child_of_15_counts_and_person_of_16_does_not(self) -> None:
        assert deprivation(adult_with(15), "school_attendance") is not None
        assert deprivation(adult_with(16), "school_attendance") is None

    @pytest.mark.parametrize(
        ("age_years", "level", "deprived"),
        [
            (5, SchoolLevel.primary, False),
            (8, SchoolLevel.primary, False),
            (12, SchoolLevel.primary, True),
            (12, SchoolLevel.lower_secondary, False),
            (15, SchoolLevel.lower_secondary, True),
            (15, None, False),
        ],
    )
    def test_level_appropriate_to_the_age(
        self, age_years: int, level: SchoolLevel | None, deprived: bool
    ) -> None:
        household = adult_with(age_years, attending_school=True, school_level=level)

        assert (deprivation(household, "school_attendance") is not None) is deprived


class TestHousingQuality:
    def test_one_non_durable_part_is_not_deprived(self) -> None:
        household = assessment(dwelling=dwelling(roof_durable=False))

        assert deprivation(household, "housing_quality") is None

    def test_two_non_durable_parts_are_deprived(self) -> None:
        household = assessment(dwelling=dwelling(walls_durable=False, roof_durable=False))

        found = deprivation(household, "housing_quality")

        assert found is not None
        assert "(walls, roof)" in found.explanation

    def test_no_dwelling_is_deprived(self) -> None:
        household = assessment(dwelling=dwelling(has_dwelling=False, floor_area_m2=0))

        found = deprivation(household, "housing_quality")

        assert found is not None
        assert found.explanation == "has no dwelling"


class TestFloorArea:
    def test_exactly_8_m2_per_person_is_not_deprived(self) -> None:
        assert deprivation(assessment(dwelling=dwelling(floor_area_m2=16.0)), "floor_area") is None

    def test_7_99_m2_per_person_is_deprived(self) -> None:
        found = deprivation(assessment(dwelling=dwelling(floor_area_m2=15.98)), "floor_area")

        assert found is not None
        assert "7.99 m2/person < 8" in found.explanation

    def test_explanation_shows_the_arithmetic(self) -> None:
        found = deprivation(assessment(dwelling=dwelling(floor_area_m2=14.0)), "floor_area")

        assert found is not None
        assert found.explanation == "floor area 14.0 m2 for 2 members = 7.0 m2/person < 8"


class TestWaterSanitationAndInformation:
    @pytest.mark.parametrize(
        ("source", "deprived"),
        [(WaterSource.protected_dug_well, False), (WaterSource.unprotected_dug_well, True)],
    )
    def test_domestic_water(self, source: WaterSource, deprived: bool) -> None:
        household = assessment(water_source=source)

        assert (deprivation(household, "domestic_water") is not None) is deprived

    @pytest.mark.parametrize(
        ("latrine", "deprived"), [(Latrine.ventilated_pit, False), (Latrine.simple_pit, True)]
    )
    def test_hygienic_latrine(self, latrine: Latrine, deprived: bool) -> None:
        household = assessment(latrine=latrine)

        assert (deprivation(household, "hygienic_latrine") is not None) is deprived

    def test_no_internet_use_is_deprived(self) -> None:
        assert deprivation(assessment(internet_use=False), "telecom_use") is not None
        assert deprivation(assessment(internet_use=True), "telecom_use") is None

    @pytest.mark.parametrize(
        ("devices", "deprived"),
        [([Device.basic_phone], True), ([], True), ([Device.radio], False)],
    )
    def test_information_devices(self, devices: list[Device], deprived: bool) -> None:
        household = assessment(devices=devices)

        assert (deprivation(household, "information_devices") is not None) is deprived
