from datetime import date
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator

from households.review.models import ObjectionOutcome
from kit.contracts.households import ReviewState
from kit.fields import IsoDate, UtcDatetime

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class StepInput(BaseModel):
    to: ReviewState
    note: Annotated[Text, StringConstraints(max_length=1000)] | None = None
    posting_from: IsoDate | None = Field(
        default=None, description="First day of the public posting; required to move to posted."
    )
    posting_until: IsoDate | None = Field(
        default=None, description="Last day of the public posting; required to move to posted."
    )

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.posting_from and self.posting_until and self.posting_until < self.posting_from:
            raise ValueError("posting_until is before posting_from")
        return self


class ReopenInput(BaseModel):
    reason: Annotated[Text, StringConstraints(max_length=1000)]


class StepRead(BaseModel):
    from_state: ReviewState
    to_state: ReviewState
    reopened: bool
    actor: str
    at: UtcDatetime
    note: str | None


class CommuneReviewRead(BaseModel):
    round_id: UUID
    commune_code: str
    state: ReviewState
    version: int = Field(description="Raised by every step; 0 while nothing has been recorded.")
    next_states: list[ReviewState] = Field(description="Where a step may take the review now.")
    posting_from: date | None
    posting_until: date | None
    history: list[StepRead] = Field(description="Every step, oldest first.")


class AgreementInput(BaseModel):
    household_id: UUID
    agreeing: int = Field(ge=0, description="Attendees who agreed with the household's result.")


class MeetingInput(BaseModel):
    village: Annotated[Text, StringConstraints(max_length=120)]
    held_on: IsoDate
    attendance: int = Field(ge=1, le=100_000)
    agreements: list[AgreementInput] = Field(min_length=1, max_length=5_000)


class HouseholdRef(BaseModel):
    household_id: UUID
    household_code: str


class AgreementRead(HouseholdRef):
    agreeing: int
    agreement_share: float = Field(description="Agreeing attendees over attendance, 0 to 1.")
    needs_resurvey: bool = Field(description="Below the agreement threshold.")


class MeetingRead(BaseModel):
    id: UUID
    village: str
    held_on: date
    attendance: int
    recorded_by: str
    recorded_at: UtcDatetime
    agreements: list[AgreementRead]


class MeetingList(BaseModel):
    items: list[MeetingRead]
    total: int
    needs_resurvey: list[HouseholdRef] = Field(
        description="Surveyed households whose last meeting agreed below the threshold and that "
        "have not been re-surveyed since."
    )
    not_discussed: list[HouseholdRef] = Field(
        description="Surveyed households that no meeting has discussed yet."
    )


class ObjectionInput(BaseModel):
    household_id: UUID
    lodged_on: IsoDate
    lodged_by: Annotated[Text, StringConstraints(max_length=120)]
    text: Annotated[Text, StringConstraints(max_length=2000)]


class RecheckInput(BaseModel):
    outcome: ObjectionOutcome
    note: Annotated[Text, StringConstraints(max_length=1000)]


class ObjectionRead(BaseModel):
    id: UUID
    household_id: UUID
    lodged_on: date
    lodged_by: str
    text: str
    recorded_by: str
    recorded_at: UtcDatetime
    outcome: ObjectionOutcome | None
    recheck_note: str | None
    rechecked_by: str | None
    rechecked_at: UtcDatetime | None
    personal_data_masked: bool = False


class ObjectionList(BaseModel):
    items: list[ObjectionRead]
    total: int
    open: int = Field(description="Objections not yet re-checked.")


class CommuneState(BaseModel):
    commune_code: str
    state: ReviewState


class ProvinceApprovalRead(BaseModel):
    round_id: UUID
    province_code: str
    approved: bool
    approved_by: str | None
    approved_at: UtcDatetime | None
    communes: list[CommuneState] = Field(
        description="The communes the approval needs (docs/review-round.md), with their states."
    )
