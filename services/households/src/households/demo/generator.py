"""A small synthetic population for demos: deterministic from a seed, over real communes.

Households are drawn so that, under VN-2022-2025, roughly 1% are poor and 1.7% near-poor (Vĩnh
Phúc's end-2022 figures), with information deprivation at plausible levels (DOMAIN §8). It is a
demo, not a statistical model; the large calibrated generator is a separate piece of work.
"""

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from households.household.schemas import AssessmentInput, HouseholdCreate, MemberInput
from kit.contracts.households import (
    Device,
    Disability,
    DwellingFacts,
    Latrine,
    Qualification,
    Relation,
    SchoolLevel,
    Sex,
    WaterSource,
    WorkingStatus,
)

VULNERABLE_SHARE = 0.028  # households whose score A falls under the cut-off
VULNERABLE_DEPRIVATION = 0.2  # chance of each deprivation driver for them
OTHER_DEPRIVATION = 0.03
AVERAGE_BAND_SHARE = 0.04

FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ"]
GIVEN_NAMES = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hoa",
    "Hùng",
    "Lan",
    "Linh",
    "Minh",
    "Nam",
    "Ngọc",
    "Phúc",
    "Quang",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
]
SCHOOL_BY_AGE = [
    (3, 5, SchoolLevel.preschool),
    (6, 10, SchoolLevel.primary),
    (11, 14, SchoolLevel.lower_secondary),
    (15, 17, SchoolLevel.upper_secondary),
]


@dataclass(frozen=True)
class Commune:
    code: str
    urban: bool


@dataclass(frozen=True)
class SyntheticHousehold:
    household: HouseholdCreate
    assessment: AssessmentInput


def generate(
    communes: Sequence[Commune], *, households: int, reference_date: date, seed: int = 2024
) -> Iterator[SyntheticHousehold]:
    """`households` households spread evenly over `communes`, the same for the same seed."""
    rng = random.Random(seed)
    for number in range(households):
        commune = communes[number % len(communes)]
        yield _household(rng, commune, number, reference_date)


def _household(
    rng: random.Random, commune: Commune, number: int, reference_date: date
) -> SyntheticHousehold:
    vulnerable = rng.random() < VULNERABLE_SHARE
    p = VULNERABLE_DEPRIVATION if vulnerable else OTHER_DEPRIVATION
    family = rng.choice(FAMILY_NAMES)
    members = _members(rng, family, reference_date, p)
    cutoff = 175 if commune.urban else 140
    score: int | None = (
        rng.randint(cutoff - 40, cutoff) if vulnerable else rng.randint(cutoff + 1, 420)
    )
    line = 2_000_000 if commune.urban else 1_500_000
    income = None
    if not vulnerable and rng.random() < AVERAGE_BAND_SHARE:
        income = rng.randint(line + 1, line * 3 // 2)  # in the average band (L, U]
        score = None if rng.random() < 0.5 else score
    durable = rng.random() >= p
    devices = (
        []
        if rng.random() < p
        else rng.sample(
            [Device.tv, Device.smartphone, Device.radio, Device.laptop], k=rng.randint(1, 3)
        )
    )
    return SyntheticHousehold(
        household=HouseholdCreate(
            household_code=f"{commune.code}-{number:06d}",
            commune_code=commune.code,
            village=f"Thôn {1 + number % 9}",
            head_name=members[0].full_name,
        ),
        assessment=AssessmentInput(
            members=members,
            dwelling=DwellingFacts(
                walls_durable=durable,
                columns_durable=durable,
                roof_durable=rng.random() > p,
                floor_area_m2=round(
                    len(members)
                    * (rng.uniform(5, 7.9) if rng.random() < p else rng.uniform(12, 40)),
                    1,
                ),
            ),
            water_source=WaterSource.unprotected_dug_well
            if rng.random() < p
            else rng.choice([WaterSource.piped, WaterSource.drilled_well]),
            latrine=Latrine.simple_pit
            if rng.random() < p
            else rng.choice([Latrine.septic, Latrine.semi_septic]),
            internet_use=rng.random() >= p,
            devices=devices,
            income_score_a=score,
            monthly_income_per_person=income,
        ),
    )


def _members(rng: random.Random, family: str, on: date, p: float) -> list[MemberInput]:
    head_age = rng.randint(25, 75)
    people = [(head_age, Relation.head)]
    if rng.random() < 0.85:
        people.append((max(18, head_age + rng.randint(-5, 5)), Relation.spouse))
    people += [(rng.randint(0, 17), Relation.child) for _ in range(rng.choice([0, 1, 2, 2, 3]))]
    if rng.random() < 0.3:
        people.append((rng.randint(62, 90), Relation.parent))
    return [
        _member(rng, family, on, age, relation, index, p)
        for index, (age, relation) in enumerate(people)
    ]


def _member(
    rng: random.Random, family: str, on: date, age: int, relation: Relation, index: int, p: float
) -> MemberInput:
    sex = Sex.male if (index == 0) == (rng.random() < 0.7) else Sex.female
    birth = on - timedelta(days=age * 365 + rng.randint(1, 360))
    level = next((lvl for low, high, lvl in SCHOOL_BY_AGE if low <= age <= high), None)
    attending = level is not None and rng.random() >= p / 2
    working = 18 <= age < 60
    wage = working and rng.random() < 0.4
    return MemberInput(
        full_name=f"{family} {rng.choice(GIVEN_NAMES)}",
        birth_date=birth,
        sex=sex,
        relation_to_head=relation,
        working_status=(
            WorkingStatus.unemployed
            if working and rng.random() < p / 2
            else WorkingStatus.wage_worker
            if wage
            else WorkingStatus.self_employed
            if working
            else WorkingStatus.student
            if attending
            else WorkingStatus.retired
            if age >= 60
            else WorkingStatus.homemaker
        ),
        has_labour_contract=(rng.random() >= p) if wage else None,
        receives_pension_or_allowance=age >= 60 and rng.random() < 0.6,
        disability=Disability.severe if rng.random() < p / 10 else Disability.none,
        has_health_insurance=rng.random() >= p / 2,
        attending_school=attending,
        school_level=level if attending else None,
        highest_qualification=(
            Qualification.upper_secondary
            if age >= 18 and rng.random() >= p
            else Qualification.lower_secondary
            if age >= 15
            else Qualification.none
        ),
        stunted=age < 16 and rng.random() < p / 3,
    )
