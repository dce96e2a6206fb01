"""Builds the events the households service publishes about households and their assessments."""

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from households.household.models import Household
from households.household.schemas import AssessmentInput, MemberInput
from households.round.models import ReviewRound
from households.unit import service as unit_service
from households.unit.models import AdminUnit
from kit.contracts import Envelope
from kit.contracts.households import (
    AssessmentRecordedV1,
    AssessmentsRecordedV1,
    HouseholdRegisteredV1,
    HouseholdsRegisteredV1,
    HouseholdUpdatedV1,
    MemberFacts,
    VersionedAssessment,
)
from kit.logging import current_actor, current_request_id

PRODUCER = "households"


def completed_years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def completed_months(birth: date, on: date) -> int:
    return (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)


def member_facts(members: Sequence[MemberInput], on: date) -> list[MemberFacts]:
    """The members as the standard sees them: ages at `on` instead of birth dates, no names."""
    return [
        MemberFacts(
            member_no=number,
            age_years=completed_years(member.birth_date, on),
            age_months=completed_months(member.birth_date, on),
            **{name: getattr(member, name) for name in _CARRIED},
        )
        for number, member in enumerate(members, start=1)
    ]


# The member facts an event carries as they are (ages replace the birth date).
_CARRIED = tuple(name for name in MemberFacts.model_fields if name in MemberInput.model_fields)


def survey_facts(survey: AssessmentInput, on: date) -> dict[str, Any]:
    """What an assessment event carries of the survey: member facts and the household's facts."""
    return {
        "members": member_facts(survey.members, on),
        "dwelling": survey.dwelling,
        "water_source": survey.water_source,
        "latrine": survey.latrine,
        "internet_use": survey.internet_use,
        "devices": survey.devices,
        "income_score_a": survey.income_score_a,
        "monthly_income_per_person": survey.monthly_income_per_person,
    }


def household_registered(household: Household) -> Envelope:
    """A new household (first version) or a change to one, without personal data."""
    event = registration(household)
    return Envelope.wrap(
        event,
        producer=PRODUCER,
        subject=str(household.id),
        sequence=household.version,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )


def registration(household: Household) -> HouseholdRegisteredV1:
    """The facts of `household_registered`'s event (an update's, from the second version on)."""
    event_class = HouseholdRegisteredV1 if household.version == 1 else HouseholdUpdatedV1
    return event_class(
        household_id=household.id,
        household_code=household.household_code,
        commune_code=household.commune_code,
        unit_path=[
            code
            for code in (household.province_code, household.district_code, household.commune_code)
            if code  # a commune of the two-level tree has no district
        ],
        village=household.village,
        version=household.version,
    )


def households_registered(households: Sequence[HouseholdRegisteredV1], *, subject: str) -> Envelope:
    """The households a batch of surveys registered, in one message (see
    `assessments_recorded`: the same subject, written once)."""
    return Envelope.wrap(
        HouseholdsRegisteredV1(households=list(households)),
        producer=PRODUCER,
        subject=subject,
        sequence=1,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )


def assessment_recorded(
    survey: AssessmentInput,
    *,
    assessment_id: UUID,
    version: int,
    household: Household,
    review_round: ReviewRound,
    commune: AdminUnit,
) -> Envelope:
    """The survey's own event (`sequence`: the assessment's version)."""
    event = assessment_facts(
        survey,
        assessment_id=assessment_id,
        household=household,
        review_round=review_round,
        commune=commune,
    )
    return survey_envelope(event, version=version)


def survey_envelope(event: AssessmentRecordedV1, *, version: int) -> Envelope:
    """One survey's event, its subject the assessment, its `sequence` the assessment's version."""
    return Envelope.wrap(
        event,
        producer=PRODUCER,
        subject=str(event.assessment_id),
        sequence=version,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )


def assessments_recorded(surveys: Sequence[VersionedAssessment], *, subject: str) -> Envelope:
    """A batch of surveys written together, in one message. Its subject names the batch (an
    import's job and first row), written once: its `sequence` is 1; each survey carries its own
    version."""
    return Envelope.wrap(
        AssessmentsRecordedV1(assessments=list(surveys)),
        producer=PRODUCER,
        subject=subject,
        sequence=1,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )


def assessment_facts(
    survey: AssessmentInput,
    *,
    assessment_id: UUID,
    household: Household,
    review_round: ReviewRound,
    commune: AdminUnit,
) -> AssessmentRecordedV1:
    """The survey as event-carried state: ages instead of birth dates, no names or IDs.

    Built from the validated input (entered through the API or read from an import file), so
    nothing is validated twice."""
    assert commune.area is not None  # every commune has an area
    on = review_round.reference_date
    return AssessmentRecordedV1(
        assessment_id=assessment_id,
        household_id=household.id,
        household_code=household.household_code,
        round_id=review_round.id,
        round_year=review_round.year,
        standard_id=review_round.standard_id,
        reference_date=on,
        commune_code=commune.code,
        commune_name=commune.name,
        unit_path=unit_service.path_codes(commune),
        area=commune.area,
        **survey_facts(survey, on),
    )
