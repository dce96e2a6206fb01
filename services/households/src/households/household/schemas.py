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
    household_code: Code = Field(min_length=1, max_length=40)
    commune_code: CommuneCode
    village: Text = Field(min_length=1, max_length=120)
    address: Text | None = Field(default=None, max_length=300)
    head_name: Text | None = Field(default=None, max_length=120)


class HouseholdUpdate(RequestBody):
    commune_code: CommuneCode | None = None
    village: Text | None = Field(default=None, min_length=1, max_length=120)
    address: Text | None = Field(default=None, max_length=300)
    head_name: Text | None = Field(default=None, max_length=120)

    @field_validator("commune_code", "village")
    @classmethod
    def _required_facts_stay(cls, value: str | None, info: ValidationInfo) -> str:
        # Leaving the field out keeps it; an explicit null would erase a fact every household has.
        if value is None:
            raise ValueError(f"{info.field_name} cannot be removed; leave it out to keep it")
        return value


class HouseholdRead(HouseholdBase):
    id: UUID
    province_code: str
    district_code: str
    version: int
    created_at: UtcDatetime
    updated_at: UtcDatetime
    personal_data_masked: bool = Field(
        default=False, description="Name and address replaced by *** (the caller's role)."
    )


class HouseholdList(BaseModel):
    items: list[HouseholdRead]
    total: int
    offset: int
    limit: int


class MemberInput(RequestBody):
    """One member of the household as surveyed in the round."""

    full_name: Text = Field(min_length=1, max_length=120)
    national_id: NationalId | None = None
    birth_date: IsoDate
    sex: Sex
    relation_to_head: Relation
    working_status: WorkingStatus
    has_labour_contract: bool | None = Field(
        default=None, description="For wage workers: whether they have a labour contract."
    )
    receives_pension_or_allowance: bool = False
    disability: Disability = Disability.none
    has_health_insurance: bool
    attending_school: bool = False
    school_level: SchoolLevel | None = None
    highest_qualification: Qualification = Qualification.none
    stunted: bool = False
    underweight: bool = False

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

    members: list[MemberInput] = Field(min_length=1, max_length=60)
    dwelling: DwellingInput
    water_source: WaterSource
    latrine: Latrine
    internet_use: bool = Field(description="Whether any member uses internet services.")
    devices: list[Device] = Field(default_factory=list, max_length=20)
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

    full_name: str
    national_id: str | None = None
    birth_date: date | None  # type: ignore[assignment]  # None when masked


class AssessmentRead(BaseModel):
    id: UUID
    household_id: UUID
    round_id: UUID
    version: int
    commune_code: str
    area: Area
    members: list[MemberRead]
    dwelling: DwellingFacts
    water_source: WaterSource
    latrine: Latrine
    internet_use: bool
    devices: list[Device]
    income_score_a: int | None
    monthly_income_per_person: int | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
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
    items: list[AssessmentRead]
    total: int
    offset: int
    limit: int
