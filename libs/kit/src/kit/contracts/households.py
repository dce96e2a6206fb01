"""Events published by the households service.

The assessment event is *event-carried state*: it holds every input the poverty standard needs, so
the indicators service classifies without calling back. It carries ages at the reference date, not
birth dates or names: personal data stays in the households service.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.contracts.base import Event


class Area(StrEnum):
    urban = "urban"
    rural = "rural"


class Sex(StrEnum):
    male = "male"
    female = "female"


class Relation(StrEnum):
    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    grandchild = "grandchild"
    grandparent = "grandparent"
    sibling = "sibling"
    other_relative = "other_relative"
    non_relative = "non_relative"


class WorkingStatus(StrEnum):
    wage_worker = "wage_worker"
    self_employed = "self_employed"
    unemployed = "unemployed"
    student = "student"
    homemaker = "homemaker"
    retired = "retired"
    unable_to_work = "unable_to_work"
    not_working_other = "not_working_other"


class Disability(StrEnum):
    none = "none"
    mild = "mild"
    severe = "severe"
    especially_severe = "especially_severe"


class SchoolLevel(StrEnum):
    preschool = "preschool"
    primary = "primary"
    lower_secondary = "lower_secondary"
    upper_secondary = "upper_secondary"
    vocational = "vocational"
    college = "college"
    university = "university"


class Qualification(StrEnum):
    none = "none"
    primary = "primary"
    lower_secondary = "lower_secondary"
    upper_secondary = "upper_secondary"
    vocational_certificate = "vocational_certificate"
    college = "college"
    university = "university"


class WaterSource(StrEnum):
    piped = "piped"
    drilled_well = "drilled_well"
    protected_dug_well = "protected_dug_well"
    protected_spring = "protected_spring"
    rainwater = "rainwater"
    bottled = "bottled"
    unprotected_dug_well = "unprotected_dug_well"
    unprotected_spring = "unprotected_spring"
    surface_water = "surface_water"
    vendor = "vendor"
    other = "other"


class Latrine(StrEnum):
    septic = "septic"
    semi_septic = "semi_septic"
    pour_flush = "pour_flush"
    double_vault = "double_vault"
    ventilated_pit = "ventilated_pit"
    simple_pit = "simple_pit"
    hanging = "hanging"
    none = "none"
    other = "other"


class Device(StrEnum):
    tv = "tv"
    radio = "radio"
    desktop_computer = "desktop_computer"
    laptop = "laptop"
    tablet = "tablet"
    smartphone = "smartphone"
    basic_phone = "basic_phone"


class MemberFacts(BaseModel):
    """One member as the standard sees them, ages in completed years at the reference date."""

    model_config = ConfigDict(frozen=True)

    member_no: int = Field(ge=1, description="Position of the member in the household roster.")
    age_years: int = Field(ge=0, le=130)
    age_months: int = Field(ge=0, description="Completed months, for the youngest children.")
    sex: Sex
    relation_to_head: Relation
    working_status: WorkingStatus
    has_labour_contract: bool | None = None
    receives_pension_or_allowance: bool = False
    disability: Disability = Disability.none
    has_health_insurance: bool
    attending_school: bool = False
    school_level: SchoolLevel | None = None
    highest_qualification: Qualification = Qualification.none
    stunted: bool = False
    underweight: bool = False


class DwellingFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    has_dwelling: bool = True
    walls_durable: bool = True
    columns_durable: bool = True
    roof_durable: bool = True
    floor_area_m2: float = Field(ge=0)


class AssessmentRecordedV1(Event):
    """Published by households when a household's survey in a round is created or replaced."""

    TYPE: ClassVar[str] = "households.assessment.recorded.v1"

    assessment_id: UUID
    household_id: UUID
    household_code: str
    round_id: UUID
    round_year: int
    standard_id: str
    reference_date: date
    commune_code: str
    commune_name: str | None = None
    unit_path: list[str] = Field(description="Unit codes from the province down to the commune.")
    area: Area = Field(description="Urban or rural, pinned at review time from the commune type.")
    members: list[MemberFacts]
    dwelling: DwellingFacts
    water_source: WaterSource
    latrine: Latrine
    internet_use: bool
    devices: list[Device]
    income_score_a: int | None = None
    monthly_income_per_person: int | None = None


class VersionedAssessment(BaseModel):
    """One survey of a batch, with the version its own event would carry as `sequence`."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=1, description="The assessment's version: later facts are larger.")
    assessment: AssessmentRecordedV1


class AssessmentsRecordedV1(Event):
    """Published by households for a batch of surveys written together (a bulk import's batch):
    the same facts as one `households.assessment.recorded.v1` per survey, in one message, so that
    a province loads at the speed of its batches. Interactive writes publish one event per survey.
    Consumers apply the batch as they would apply its surveys' single events in this order."""

    TYPE: ClassVar[str] = "households.assessments.recorded.v1"

    assessments: list[VersionedAssessment] = Field(min_length=1, max_length=10_000)


class RoundOpenedV1(Event):
    """Published by households when a review round is opened."""

    TYPE: ClassVar[str] = "households.round.opened.v1"

    round_id: UUID
    year: int
    kind: str = Field(description="periodic (the annual review) or regular (monthly).")
    reference_date: date
    standard_id: str
    name: str


class HouseholdRegisteredV1(Event):
    """Published by households when a household is registered."""

    TYPE: ClassVar[str] = "households.household.registered.v1"

    household_id: UUID
    household_code: str
    commune_code: str
    unit_path: list[str] = Field(description="Unit codes from the province down to the commune.")
    village: str
    version: int


class HouseholdUpdatedV1(HouseholdRegisteredV1):
    """Published by households when a household's registry facts change (commune, village)."""

    TYPE: ClassVar[str] = "households.household.updated.v1"


class HouseholdsRegisteredV1(Event):
    """Published by households for the households a batch of surveys registered together (a bulk
    import's batch): the facts of one `households.household.registered.v1` per household, in one
    message, published before the batch's surveys. Interactive registrations publish one event
    per household. Consumers apply the batch as they would apply its single events in order."""

    TYPE: ClassVar[str] = "households.households.registered.v1"

    households: list[HouseholdRegisteredV1] = Field(min_length=1, max_length=10_000)


class PopulationRecordedV1(Event):
    """Published by households when a unit's resident households and persons for a round are set."""

    TYPE: ClassVar[str] = "households.population.recorded.v1"

    round_id: UUID
    unit_code: str
    unit_path: list[str] = Field(description="Unit codes from the province down to this unit.")
    area: Area
    resident_households: int = Field(ge=0)
    resident_persons: int = Field(ge=0)


class ReviewState(StrEnum):
    """Where a commune's review in a round stands (DOMAIN §6); approved data is read-only."""

    open = "open"
    surveyed = "surveyed"
    posted = "posted"
    approved = "approved"


class ReviewStepChangedV1(Event):
    """Published by households when a commune's review in a round moves a step (open → surveyed →
    posted → approved): figures of an approved commune are final, every other one provisional."""

    TYPE: ClassVar[str] = "households.review.step_changed.v1"

    round_id: UUID
    commune_code: str
    province_code: str
    unit_path: list[str] = Field(description="Unit codes from the province down to the commune.")
    from_state: ReviewState
    to_state: ReviewState
    actor: str = Field(description="Who moved the step: a user or `api-key:<id>`.")
    at: datetime
    version: int = Field(ge=1, description="The commune review's version after the step.")
    posting_from: date | None = Field(
        default=None,
        description="First day of the commune's public posting, as the commune set it; on a step "
        "to `posted` only (null otherwise, and in messages published before it was added).",
    )
    posting_until: date | None = Field(
        default=None,
        description="Last day of the commune's public posting, as the commune set it; on a step "
        "to `posted` only (null otherwise, and in messages published before it was added).",
    )


class ReviewReopenedV1(Event):
    """Published by households when an admin reopens a commune's approved review in a round: its
    data is writable again and its figures provisional, and the province's approval, if any, is
    withdrawn."""

    TYPE: ClassVar[str] = "households.review.reopened.v1"

    round_id: UUID
    commune_code: str
    province_code: str
    unit_path: list[str] = Field(description="Unit codes from the province down to the commune.")
    from_state: ReviewState
    to_state: ReviewState
    actor: str
    at: datetime
    reason: str
    province_approval_withdrawn: bool
    version: int = Field(ge=1, description="The commune review's version after reopening.")


class ProvinceApprovedV1(Event):
    """Published by households when a province approves a round, every commune it covers having
    been approved."""

    TYPE: ClassVar[str] = "households.review.province_approved.v1"

    round_id: UUID
    province_code: str
    communes: int = Field(ge=1, description="How many approved communes the approval covers.")
    actor: str
    at: datetime


class SuccessionRelation(StrEnum):
    """How an old unit's territory passed to a new one in a map change."""

    whole = "whole"  # all of it, merged with others into the successor
    partial = "partial"  # part of it: the old unit was split among several successors
    unchanged = "unchanged"  # all of it and nothing else, under the same name
    renamed = "renamed"  # all of it and nothing else, under another name or type


class UnitSuccession(BaseModel):
    """One edge of the official old → new crosswalk, with the successor's place in the new tree."""

    model_config = ConfigDict(frozen=True)

    predecessor_code: str
    predecessor_valid_from: date
    successor_code: str
    successor_valid_from: date
    successor_level: str = Field(description="`province` or `commune`.")
    successor_unit_path: list[str] = Field(
        description="The successor's unit codes from its province down to itself."
    )
    successor_area: Area | None = Field(description="A successor commune's area; None above.")
    relation: SuccessionRelation


class UnitSuccessionsRecordedV1(Event):
    """Published by households when it loads a map change's crosswalk (at migrate time, once per
    dataset version and old province): consumers keep their own copy to restate figures onto the
    new map without calling back."""

    TYPE: ClassVar[str] = "households.units.successions_recorded.v1"

    source: str = Field(description="Dataset and version the crosswalk was loaded from.")
    effective: date = Field(description="The first day of the new map.")
    predecessor_province_code: str
    successions: list[UnitSuccession]


class SupportKind(StrEnum):
    """What a community digital technology team gave or did for a household."""

    device_given = "device_given"
    internet_subscription = "internet_subscription"
    digital_skills_training = "digital_skills_training"
    electronic_identity = "electronic_identity"
    online_public_service = "online_public_service"
    other = "other"


class SupportGiven(BaseModel):
    """One support record, as the indicators service needs it (no names, no notes)."""

    model_config = ConfigDict(frozen=True)

    support_id: UUID
    household_id: UUID
    household_code: str
    commune_code: str
    unit_path: list[str] = Field(description="Unit codes from the province down to the commune.")
    kind: SupportKind
    device: Device | None = Field(
        default=None, description="The device given; only for kind device_given."
    )
    subscription_months: int | None = Field(
        default=None,
        ge=1,
        description="Months of subscription supported; only for kind internet_subscription.",
    )
    given_on: date
    team_id: UUID
    member_id: UUID


class SupportRecordedV1(Event):
    """Published by households for a batch of support records written together (one record
    from the API, thousands from an import), in the order they were written."""

    TYPE: ClassVar[str] = "households.support.recorded.v1"

    records: list[SupportGiven] = Field(min_length=1, max_length=10_000)


class SupportWithdrawnV1(Event):
    """Published by households when a support record is withdrawn (entered in error): it no
    longer counts as help given."""

    TYPE: ClassVar[str] = "households.support.withdrawn.v1"

    support_id: UUID
    household_id: UUID
    commune_code: str
    unit_path: list[str]
    reason: str
