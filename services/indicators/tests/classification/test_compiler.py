"""The SQL a standard compiles to classifies as the Python engine does, on SQLite and PostgreSQL.

Households are random but drawn around every number of the standard being checked: ages at each
end of each age range (working age by sex, child ages, education and school bands, the insurance
age), income and score exactly at, one below and one above each line, band top and cut-off, floor
areas exactly at, just under and just over the minimum per person, and a dependant share of
exactly the limit (DOMAIN §4's boundary cases).
"""

import random
from collections.abc import Iterable
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import setwise
from indicators.classification.engine import classify
from indicators.classification.service import counts_of
from indicators.classification.testing import assessment, dwelling, member
from indicators.facts import service as facts_service
from indicators.figures.cell_key import RecordKeys
from indicators.figures.counts import Counts
from indicators.standard.rules import AdultEducationShortfall, ChildNotInSchool, RuleBase
from indicators.standard.schemas import Standard
from indicators.standard.service import list_standards
from indicators.standard.values import AgeRange
from kit.contracts.households import (
    Area,
    AssessmentRecordedV1,
    Device,
    Disability,
    Latrine,
    MemberFacts,
    Qualification,
    SchoolLevel,
    Sex,
    WaterSource,
    WorkingStatus,
)

KEYS = RecordKeys(b"compiler test secret")
STANDARDS = {standard.id: standard for standard in list_standards()}
COMMUNES = [["26", "243", "08707"], ["26", "243", "08710"], ["27", "08800"]]


def _age_ranges(standard: Standard) -> Iterable[AgeRange]:
    yield standard.working_age.by_sex.male
    yield standard.working_age.by_sex.female
    for indicator in standard.indicators:
        rule: RuleBase | None = indicator.rule
        for name in ("child_ages",):
            if isinstance(getattr(rule, name, None), AgeRange):
                yield getattr(rule, name)
        if isinstance(rule, AdultEducationShortfall | ChildNotInSchool):
            yield from rule.bands
        if (minimum := getattr(rule, "min_age_years", None)) is not None:
            yield AgeRange(min_years=minimum)


def boundary_ages(standard: Standard) -> list[int]:
    ages = set()
    for ages_range in _age_ranges(standard):
        for end in (ages_range.min_years, ages_range.max_years):
            ages.update(age for age in (end - 1, end, end + 1) if 0 <= age <= 130)
    return sorted(ages)


def boundary_incomes(standard: Standard) -> list[int]:
    income = standard.income_test
    lines = [
        value
        for by_area in (income.poverty_line, income.average_band_upper)
        for value in (by_area.rural, by_area.urban)
    ]
    return sorted({value + step for value in lines for step in (-1, 0, 1)})


def boundary_scores(standard: Standard) -> list[int]:
    cutoff = standard.income_test.score_cutoff
    return sorted({value + step for value in (cutoff.rural, cutoff.urban) for step in (-1, 0, 1)})


def floor_minimum(standard: Standard) -> float:
    rules = [getattr(i.rule, "min_m2_per_person", None) for i in standard.indicators]
    return next((value for value in rules if value is not None), 8.0)


@st.composite
def a_member(draw: st.DrawFn, number: int, ages: list[int]) -> MemberFacts:
    return member(
        number,
        age_years=draw(st.one_of(st.sampled_from(ages), st.integers(0, 100))),
        sex=draw(st.sampled_from(Sex)),
        working_status=draw(st.sampled_from(WorkingStatus)),
        has_labour_contract=draw(st.sampled_from([None, True, False])),
        receives_pension_or_allowance=draw(st.booleans()),
        disability=draw(st.sampled_from(Disability)),
        has_health_insurance=draw(st.booleans()),
        attending_school=draw(st.booleans()),
        school_level=draw(st.one_of(st.none(), st.sampled_from(SchoolLevel))),
        highest_qualification=draw(st.sampled_from(Qualification)),
        stunted=draw(st.booleans()),
        underweight=draw(st.booleans()),
    )


@st.composite
def a_household(draw: st.DrawFn, standard: Standard, round_id: UUID) -> AssessmentRecordedV1:
    ages = boundary_ages(standard)
    persons = draw(st.integers(1, 6))
    # Half the time, dependants by age make up exactly half of the household, or one more.
    members = [draw(a_member(number, ages)) for number in range(1, persons + 1)]
    minimum = floor_minimum(standard) * persons
    floor_area = draw(
        st.one_of(
            st.sampled_from([minimum, minimum - 0.01, minimum + 0.01, 0.0]),
            st.floats(0, 300, allow_nan=False),
        )
    )
    score = draw(st.one_of(st.none(), st.sampled_from(boundary_scores(standard))))
    income = draw(
        st.one_of(
            st.none() if score is not None else st.nothing(),
            st.sampled_from(boundary_incomes(standard)),
            st.integers(0, 5_000_000),
        )
    )
    path = draw(st.sampled_from(COMMUNES))
    return assessment(
        assessment_id=uuid4(),
        household_id=uuid4(),
        round_id=round_id,
        standard_id=standard.id,
        unit_path=path,
        commune_code=path[-1],
        area=draw(st.sampled_from(Area)),
        members=members,
        dwelling=dwelling(
            has_dwelling=draw(st.booleans()),
            walls_durable=draw(st.booleans()),
            columns_durable=draw(st.booleans()),
            roof_durable=draw(st.booleans()),
            floor_area_m2=floor_area,
        ),
        water_source=draw(st.sampled_from(WaterSource)),
        latrine=draw(st.sampled_from(Latrine)),
        internet_use=draw(st.booleans()),
        devices=draw(st.lists(st.sampled_from(Device), max_size=3)),
        income_score_a=score,
        monthly_income_per_person=income,
    )


def half_dependants(standard: Standard, round_id: UUID, seed: int) -> AssessmentRecordedV1:
    """Exactly half the members are children: the dependants limit itself (not deprived)."""
    rng = random.Random(seed)
    half = rng.randint(1, 3)
    children = [member(n, age_years=rng.randint(0, 15)) for n in range(1, half + 1)]
    adults = [member(n, age_years=40) for n in range(half + 1, 2 * half + 1)]
    extra = [member(2 * half + 1, age_years=5)] if rng.random() < 0.5 else []
    path = rng.choice(COMMUNES)
    return assessment(
        assessment_id=uuid4(),
        household_id=uuid4(),
        round_id=round_id,
        standard_id=standard.id,
        unit_path=path,
        commune_code=path[-1],
        members=children + adults + extra,
    )


def engine_outcome(event: AssessmentRecordedV1, standard: Standard) -> tuple[str, tuple[str, ...]]:
    result = classify(event, standard)
    return result.household_class.value, tuple(sorted(d.key for d in result.deprived))


@pytest.mark.parametrize("standard_id", sorted(STANDARDS))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_sql_classifies_as_the_engine(
    sessionmaker: async_sessionmaker[AsyncSession], standard_id: str, data: st.DataObject
) -> None:
    standard = STANDARDS[standard_id]
    round_id = uuid4()
    households = data.draw(st.lists(a_household(standard, round_id), min_size=1, max_size=12))
    households.append(half_dependants(standard, round_id, data.draw(st.integers(0, 1000))))
    expected = {event.assessment_id: engine_outcome(event, standard) for event in households}
    expected_counts: dict[tuple[str, ...], Counts] = {}
    for event in households:
        counts = expected_counts.setdefault(tuple(event.unit_path), Counts())
        counts.update(
            counts_of(
                classify(event, standard),
                persons=len(event.members),
                record_key=KEYS(event.household_id),
            )
        )

    async with sessionmaker() as session:  # rolled back: every example leaves nothing
        await facts_service.store(session, [(1, event) for event in households], KEYS)
        where = setwise.households_of(round_id)
        outcomes = await setwise.classify_households(session, standard, where)
        communes = await setwise.commune_counts(session, standard, where)
        await session.rollback()

    computed = {o.assessment_id: (o.household_class, o.deprived) for o in outcomes}
    assert computed == expected
    assert {path: sorted(c.items()) for path, c in communes.items()} == {
        path: sorted(c.items()) for path, c in expected_counts.items()
    }
