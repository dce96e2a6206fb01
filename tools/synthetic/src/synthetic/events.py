"""The assessment event the households service would publish for a synthetic household.

A pure mirror of `households.household.events.assessment_recorded` for households that were never
stored: ages in completed years and months at the reference date, no names or birth dates. It lets
a generated province be classified (or fed to the indicators service) without a database. Ids are
derived from the household code, so the same household always gets the same ids.
"""

from collections.abc import Sequence
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from households.household.events import survey_facts
from kit.contracts.households import AssessmentRecordedV1
from synthetic.generator import REFERENCE_DATE, SyntheticHousehold

SYNTHETIC_ROUND = uuid5(NAMESPACE_URL, "urn:synthetic:round")


def synthetic_id(kind: str, household_code: str) -> UUID:
    """A stable id for the synthetic household's `kind` of record ("household", "assessment")."""
    return uuid5(NAMESPACE_URL, f"urn:synthetic:{kind}:{household_code}")


def assessment_recorded(
    item: SyntheticHousehold,
    *,
    reference_date: date = REFERENCE_DATE,
    standard_id: str = "VN-2022-2025",
    round_id: UUID = SYNTHETIC_ROUND,
    unit_path: Sequence[str] | None = None,
) -> AssessmentRecordedV1:
    """`item` as `households.assessment.recorded.v1` data in a round on `reference_date`.

    `unit_path` defaults to the commune alone: the commune list the generator takes does not
    know the province and district (the engine needs the province only for a provincial standard).
    """
    household, assessment = item.household, item.assessment
    return AssessmentRecordedV1(
        assessment_id=synthetic_id("assessment", household.household_code),
        household_id=synthetic_id("household", household.household_code),
        household_code=household.household_code,
        round_id=round_id,
        round_year=reference_date.year,
        standard_id=standard_id,
        reference_date=reference_date,
        commune_code=household.commune_code,
        unit_path=list(unit_path) if unit_path is not None else [household.commune_code],
        area=item.area,
        **survey_facts(assessment, reference_date),
    )
