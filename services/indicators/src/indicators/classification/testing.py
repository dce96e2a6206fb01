"""Builders of classification inputs for tests (as `kit.testing` is for services' conftests).

The defaults describe a household deprived in nothing whose score A passes the rural income test,
so a test overrides only the facts it is about.
"""

import random
from datetime import date
from uuid import UUID

from kit.contracts.households import (
    Area,
    AssessmentRecordedV1,
    Device,
    DwellingFacts,
    Latrine,
    MemberFacts,
    Qualification,
    Relation,
    Sex,
    WaterSource,
    WorkingStatus,
)

ASSESSMENT_ID = UUID("00000000-0000-4000-8000-000000000001")


def member(member_no: int = 1, **overrides: object) -> MemberFacts:
    """An insured, self-employed 40-year-old man with upper-secondary education."""
    facts: dict[str, object] = {
        "member_no": member_no,
        "age_years": 40,
        "age_months": 40 * 12,
        "sex": Sex.male,
        "relation_to_head": Relation.head if member_no == 1 else Relation.other_relative,
        "working_status": WorkingStatus.self_employed,
        "has_health_insurance": True,
        "highest_qualification": Qualification.upper_secondary,
    }
    if "age_years" in overrides and "age_months" not in overrides:
        facts["age_months"] = int(str(overrides["age_years"])) * 12
    return MemberFacts.model_validate(facts | overrides)


def dwelling(**overrides: object) -> DwellingFacts:
    """A durable 60 m² dwelling."""
    return DwellingFacts.model_validate({"floor_area_m2": 60.0} | overrides)


def assessment(**overrides: object) -> AssessmentRecordedV1:
    """Two adults in a rural durable dwelling with safe water, a latrine, internet and a phone."""
    facts: dict[str, object] = {
        "assessment_id": ASSESSMENT_ID,
        "household_id": UUID("00000000-0000-4000-8000-000000000002"),
        "household_code": "26-08707-0001",
        "round_id": UUID("00000000-0000-4000-8000-000000000003"),
        "round_year": 2024,
        "standard_id": "VN-2022-2025",
        "reference_date": date(2024, 10, 1),
        "commune_code": "08707",
        "unit_path": ["26", "243", "08707"],
        "area": Area.rural,
        "members": [member(1), member(2, sex=Sex.female, relation_to_head=Relation.spouse)],
        "dwelling": dwelling(),
        "water_source": WaterSource.piped,
        "latrine": Latrine.septic,
        "internet_use": True,
        "devices": [Device.smartphone],
        "income_score_a": 100,
        "monthly_income_per_person": None,
    }
    return AssessmentRecordedV1.model_validate(facts | overrides)


COMMUNES = (("243", "08707"), ("243", "08710"), ("244", "08773"))


def surveys(seed: int, households: int) -> list[tuple[AssessmentRecordedV1, int]]:
    """Households of three communes with one to three versions each (some moving commune or
    changing class between them), as `(facts, version)` in a shuffled delivery order: later
    versions may come first."""
    rng = random.Random(seed)
    delivered = []
    for number in range(households):
        identity = {
            "assessment_id": UUID(int=rng.getrandbits(128)),
            "household_id": UUID(int=rng.getrandbits(128)),
            "household_code": f"S{seed}-{number}",
        }
        for version in range(1, rng.choice([1, 2, 3]) + 1):
            district, commune = rng.choice(COMMUNES)
            facts = assessment(
                **identity,
                commune_code=commune,
                unit_path=["26", district, commune],
                area=rng.choice([Area.rural, Area.urban]),
                income_score_a=rng.choice([90, 140, 141, 175, 176, 300]),
                members=[
                    member(1, has_health_insurance=rng.random() < 0.7),
                    member(2, age_years=rng.choice([10, 40, 70])),
                ],
                internet_use=rng.random() < 0.6,
                devices=[] if rng.random() < 0.4 else [Device.tv],
                water_source=rng.choice([WaterSource.piped, WaterSource.surface_water]),
            )
            delivered.append((facts, version))
    rng.shuffle(delivered)
    return delivered
