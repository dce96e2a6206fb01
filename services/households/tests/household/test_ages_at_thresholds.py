"""Ages are completed years at the round's reference date: a birthday on the reference date
counts, one the day after does not yet. Checked at each age threshold of the standard (read from
its data), through the conversion the assessment event carries (`member_facts`) and the engine.
"""

from datetime import date, timedelta
from typing import TypeVar

import pytest

from households.household.events import member_facts
from households.household.schemas import MemberInput
from indicators.classification.engine import classify
from indicators.classification.testing import assessment
from indicators.standard import rules
from indicators.standard.service import get_standard
from kit.contracts.households import Qualification, Relation, Sex, WorkingStatus

R = TypeVar("R", bound=rules.RuleBase)
REFERENCE = date(2024, 11, 1)
STANDARD = get_standard("VN-2022-2025")
RULES = {indicator.key: indicator.rule for indicator in STANDARD.indicators}


def _rule(key: str, kind: type[R]) -> R:
    rule = RULES[key]
    assert isinstance(rule, kind)
    return rule


def _thresholds() -> list[object]:
    """(indicator, age N, the candidate's facts, whether the candidate deprives at N); at N - 1
    the candidate does the opposite."""
    nutrition = _rule("nutrition", rules.ChildMalnourished)
    insurance = _rule("health_insurance", rules.MemberWithoutInsurance)
    adults = _rule("adult_education", rules.AdultEducationShortfall)
    school = _rule("school_attendance", rules.ChildNotInSchool)
    working_age = STANDARD.working_age.by_sex.male
    unqualified = {"highest_qualification": Qualification.none}
    unemployed = {"working_status": WorkingStatus.unemployed}
    cases = [
        ("nutrition", nutrition.child_ages.max_years + 1, {"stunted": True}, False),
        ("health_insurance", insurance.min_age_years, {"has_health_insurance": False}, True),
        ("adult_education", min(b.min_years for b in adults.bands), unqualified, True),
        ("adult_education", max(b.max_years for b in adults.bands) + 1, unqualified, False),
        ("school_attendance", min(b.min_years for b in school.bands), {}, True),
        ("school_attendance", max(b.max_years for b in school.bands) + 1, {}, False),
        ("employment", working_age.min_years, unemployed, True),
        ("employment", working_age.max_years + 1, unemployed, False),
        ("dependants", working_age.max_years + 1, {"working_status": WorkingStatus.retired}, True),
    ]
    return [pytest.param(*case, id=f"{case[0]}-{case[1]}") for case in cases]


def born(years: int, days_later: int = 0) -> date:
    return REFERENCE.replace(year=REFERENCE.year - years) + timedelta(days=days_later)


def person(birth_date: date, **facts: object) -> MemberInput:
    values: dict[str, object] = {
        "full_name": "Thành viên",
        "birth_date": birth_date,
        "sex": Sex.male,
        "relation_to_head": Relation.other_relative,
        "working_status": WorkingStatus.self_employed,
        "has_health_insurance": True,
        "highest_qualification": Qualification.upper_secondary,
    }
    return MemberInput.model_validate(values | facts)


def deprived(key: str, candidate: MemberInput) -> bool:
    # The head, a young child (a dependant, so that one more dependant is more than half), and
    # the candidate.
    members = [
        person(born(40), relation_to_head=Relation.head),
        person(born(1)),
        candidate,
    ]
    household = assessment(members=member_facts(members, REFERENCE), reference_date=REFERENCE)
    return key in {indicator.key for indicator in classify(household, STANDARD).deprived}


@pytest.mark.parametrize(("key", "age", "facts", "deprived_at_age"), _thresholds())
def test_a_birthday_on_the_reference_date_counts_and_the_day_after_does_not(
    key: str, age: int, facts: dict[str, object], deprived_at_age: bool
) -> None:
    on_the_day = person(born(age), **facts)
    day_after = person(born(age, days_later=1), **facts)

    assert deprived(key, on_the_day) is deprived_at_age
    assert deprived(key, day_after) is not deprived_at_age
