from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import UtcDatetime


class ConflictParty(BaseModel):
    household_id: UUID
    assessment_id: UUID
    commune_code: str
    member_no: int | None = Field(
        description="The member of this household's survey with the ID (1-based); None once "
        "the survey no longer lists it."
    )


class ConflictRead(BaseModel):
    id: UUID
    round_id: UUID
    holder: ConflictParty = Field(description="The household whose survey recorded the ID first.")
    claimant: ConflictParty = Field(description="The household whose survey recorded it next.")
    opened_at: UtcDatetime
    resolved_at: UtcDatetime | None
    resolved_by: str | None
    kept_household_id: UUID | None = Field(
        description="The household that keeps the person; the other survey must be corrected."
    )


class ConflictList(BaseModel):
    items: list[ConflictRead]
    total: int
    offset: int
    limit: int


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kept_household_id: UUID = Field(description="One of the conflict's two households.")


class ReviewReason(BaseModel):
    loc: list[str | int]
    msg: str


class Review(BaseModel):
    """Why a recorded survey needs a supervisor's or the enumerator's attention. It names only
    the survey's own fields, never the other household."""

    status: str = Field(default="needs_review", examples=["needs_review"])
    reasons: list[ReviewReason]
