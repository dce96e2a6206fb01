import unicodedata
from datetime import date
from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from households.conflict.schemas import Review
from households.household.models import HouseholdBase
from kit.contracts.households import (
    Area,
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
from kit.fields import Code, IsoDate, RequestBody, Text, UtcDatetime


def _nfkc(value: object) -> object:
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


NationalId = Annotated[
    str,
    BeforeValidator(_nfkc),
    Field(
        pattern=r"^([0-9]{9}|[0-9]{12})$",
        description="A citizen ID (CCCD) of 12 digits, or an old identity card (CMND) number of 9, "
        "without spaces or dots; full-width digits are read as ASCII ones.",
        examples=["026079001234"],
    ),
]
"""A national ID number as it is stored and compared: ASCII digits only (docs/architecture.md)."""
CommuneCode = Annotated[Code, Field(pattern=r"^[0-9]{5}$", examples=["08707"])]


class HouseholdCreate(RequestBody):
    household_code: Code = Field(
        min_length=1,
        max_length=40,
        description="The household's code, unique in its commune (as on the commune's lists).",
    )
    commune_code: CommuneCode = Field(
        description="The commune it lives in (5 digits), on the map in force."
    )
    village: Text = Field(
        min_length=1,
        max_length=120,
        description="Its village or residential group (thôn, xóm, tổ dân phố).",
    )
    address: Text | None = Field(
        default=None, max_length=300, description="House number and street, if any. Personal data."
    )
    head_name: Text | None = Field(
        default=None,
        max_length=120,
        description="The head of household's full name. Personal data.",
    )


class HouseholdUpdate(RequestBody):
    commune_code: CommuneCode | None = Field(
        default=None,
        description="A new commune (5 digits), on the map in force; leave out to keep it.",
    )
    village: Text | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="A new village or residential group; leave out to keep it.",
    )
    address: Text | None = Field(
        default=None,
        max_length=300,
        description="A new address; null erases it; leave out to keep it.",
    )
    head_name: Text | None = Field(
        default=None,
        max_length=120,
        description="A new head of household's name; leave out to keep it.",
    )

    @field_validator("commune_code", "village")
    @classmethod
    def _required_facts_stay(cls, value: str | None, info: ValidationInfo) -> str:
        # Leaving the field out keeps it; an explicit null would erase a fact every household has.
        if value is None:
            raise ValueError(f"{info.field_name} cannot be removed; leave it out to keep it")
        return value


class HouseholdRead(HouseholdBase):
    id: UUID = Field(description="The household's id.")
    province_code: str = Field(description="Its province (2 digits).")
    district_code: str = Field(description="Its district on maps before 1 July 2025; empty after.")
    version: int = Field(description="Raised by every change; its ETag is this number.")
    created_at: UtcDatetime = Field(description="When it was registered (UTC).")
    updated_at: UtcDatetime = Field(description="When it last changed (UTC).")
    personal_data_masked: bool = Field(
        default=False, description="Name and address replaced by *** (the caller's role)."
    )


class HouseholdList(BaseModel):
    items: list[HouseholdRead] = Field(
        description="This page's households, in the list's stable order."
    )
    total: int = Field(description="How many households match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")


class MemberInput(RequestBody):
    """One member of the household as surveyed in the round."""

    full_name: Text = Field(
        min_length=1,
        max_length=120,
        description="Full name, as on the ID card. Personal data (`***` when masked).",
    )
    national_id: NationalId | None = Field(
        default=None,
        description="Citizen ID (CCCD, 12 digits) or old ID card (CMND, 9). Personal data.",
    )
    birth_date: IsoDate = Field(
        description=(
            "Date of birth; ages are counted at the round's reference date. Personal "
            "data (null when masked)."
        )
    )
    sex: Sex = Field(description="Sex; decides the working age.")
    relation_to_head: Relation = Field(description="Relation to the head of household.")
    working_status: WorkingStatus = Field(description="Main activity in the last 12 months.")
    has_labour_contract: bool | None = Field(
        default=None, description="For wage workers: whether they have a labour contract."
    )
    receives_pension_or_allowance: bool = Field(
        default=False,
        description=(
            "Receives a pension or a monthly social allowance (an elderly member then "
            "is no dependant)."
        ),
    )
    disability: Disability = Field(
        default=Disability.none, description="Degree of certified disability."
    )
    has_health_insurance: bool = Field(description="Holds a valid health-insurance card (BHYT).")
    attending_school: bool = Field(
        default=False, description="Attends school or training now (give `school_level`)."
    )
    school_level: SchoolLevel | None = Field(
        default=None, description="The level attended, when attending."
    )
    highest_qualification: Qualification = Field(
        default=Qualification.none, description="The highest level completed."
    )
    stunted: bool = Field(
        default=False,
        description=("A child measured as stunted (height for age); for the nutrition indicator."),
    )
    underweight: bool = Field(
        default=False,
        description=(
            "A child measured as underweight (weight for age); for the nutrition indicator."
        ),
    )

    @model_validator(mode="after")
    def _school_level_when_attending(self) -> Self:
        if self.attending_school and self.school_level is None:
            raise ValueError("school_level is required when attending_school is true")
        if self.working_status == WorkingStatus.wage_worker and self.has_labour_contract is None:
            raise ValueError("has_labour_contract is required for a wage worker")
        return self


class DwellingInput(RequestBody, DwellingFacts):
    """The dwelling as surveyed: the facts the assessment event carries, and no other field."""


class AssessmentInput(RequestBody):
    """Everything the poverty standard needs about a household in one round."""

    members: list[MemberInput] = Field(
        min_length=1,
        max_length=60,
        description=("Everyone living in the household, the head among them (exactly one `head`)."),
    )
    dwelling: DwellingInput = Field(description="The dwelling the household lives in.")
    water_source: WaterSource = Field(
        description="The main source of domestic water (the standard says which are safe)."
    )
    latrine: Latrine = Field(
        description="The latrine the household uses (the standard says which are hygienic)."
    )
    internet_use: bool = Field(description="Whether any member uses internet services.")
    devices: list[Device] = Field(
        default_factory=list,
        max_length=20,
        description="Information devices the household owns; empty if none.",
    )
    income_score_a: int | None = Field(
        default=None, ge=0, le=1000, description="Income-proxy score A (B1) from the survey form."
    )
    monthly_income_per_person: int | None = Field(
        default=None, ge=0, le=1_000_000_000, description="Measured income, VND/person/month."
    )

    @model_validator(mode="after")
    def _income_evidence(self) -> Self:
        if self.income_score_a is None and self.monthly_income_per_person is None:
            raise ValueError("give income_score_a, monthly_income_per_person or both")
        heads = sum(member.relation_to_head == Relation.head for member in self.members)
        if heads != 1:
            raise ValueError(f"exactly one member must be the head (found {heads})")
        return self


class MemberRead(MemberInput):
    """A member as read back: personal fields may be masked for the caller's role."""

    model_config = ConfigDict(extra="ignore")

    full_name: str = Field(
        description="Full name, as on the ID card. Personal data (`***` when masked)."
    )
    national_id: str | None = Field(
        default=None,
        description="Citizen ID (CCCD, 12 digits) or old ID card (CMND, 9). Personal data.",
    )
    birth_date: date | None = Field(  # type: ignore[assignment]  # None when masked
        description=(
            "Date of birth; ages are counted at the round's reference date. Personal "
            "data (null when masked)."
        )
    )


class AssessmentRead(BaseModel):
    id: UUID = Field(description="The survey's id.")
    household_id: UUID = Field(description="The household's id.")
    round_id: UUID = Field(description="The review round's id.")
    version: int = Field(description="Raised by every replacement; its ETag is this number.")
    commune_code: str = Field(description="The household's commune on the round's reference date.")
    area: Area = Field(
        description="Urban or rural, from the commune on the round's reference date."
    )
    members: list[MemberRead] = Field(description="Everyone living in the household as surveyed.")
    dwelling: DwellingFacts = Field(description="The dwelling as surveyed.")
    water_source: WaterSource = Field(description="The main source of domestic water.")
    latrine: Latrine = Field(description="The latrine the household uses.")
    internet_use: bool = Field(description="Whether any member uses internet services.")
    devices: list[Device] = Field(description="Information devices the household owns.")
    income_score_a: int | None = Field(
        description="Income-proxy score A (B1) from the survey form; null if not scored."
    )
    monthly_income_per_person: int | None = Field(
        description="Measured income, VND per person per month; null if not measured."
    )
    created_at: UtcDatetime = Field(description="When the survey was first recorded (UTC).")
    updated_at: UtcDatetime = Field(description="When it was last replaced (UTC).")
    personal_data_masked: bool = Field(
        default=False,
        description="Members' names, ID numbers and birth dates withheld (the caller's role).",
    )
    review: Review | None = Field(
        default=None,
        description="Why the survey needs review (a member recorded in another household of "
        "the round); None when it does not.",
    )


class AssessmentList(BaseModel):
    items: list[AssessmentRead] = Field(
        description="This page's surveys, in the list's stable order."
    )
    total: int = Field(description="How many surveys match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")
