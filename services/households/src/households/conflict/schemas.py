from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from kit.fields import UtcDatetime


class ConflictParty(BaseModel):
    household_id: UUID = Field(description="The household's id.")
    assessment_id: UUID = Field(description="The survey that recorded the person.")
    commune_code: str = Field(description="The household's commune.")
    member_no: int | None = Field(
        description="The member of this household's survey with the ID (1-based); None once "
        "the survey no longer lists it."
    )


class ConflictRead(BaseModel):
    id: UUID = Field(description="The conflict's id.")
    round_id: UUID = Field(description="The review round's id.")
    holder: ConflictParty = Field(description="The household whose survey recorded the ID first.")
    claimant: ConflictParty = Field(description="The household whose survey recorded it next.")
    opened_at: UtcDatetime = Field(description="When the second survey recorded the ID (UTC).")
    resolved_at: UtcDatetime | None = Field(
        description="When it was resolved (UTC); null while open."
    )
    resolved_by: str | None = Field(description="Who resolved it; null while open.")
    kept_household_id: UUID | None = Field(
        description="The household that keeps the person; the other survey must be corrected."
    )


class ConflictList(BaseModel):
    items: list[ConflictRead] = Field(
        description="This page's conflicts, in the list's stable order."
    )
    total: int = Field(description="How many conflicts match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kept_household_id: UUID = Field(description="One of the conflict's two households.")


class ReviewReason(BaseModel):
    loc: list[str | int] = Field(
        description="The field concerned, e.g. `members`, 0, `national_id`."
    )
    msg: str = Field(description="What is wrong, for people.")


class Review(BaseModel):
    """Why a recorded survey needs a supervisor's or the enumerator's attention. It names only
    the survey's own fields, never the other household."""

    status: str = Field(
        default="needs_review", examples=["needs_review"], description="Always `needs_review`."
    )
    reasons: list[ReviewReason] = Field(
        description="What needs review, each with the field it concerns."
    )
