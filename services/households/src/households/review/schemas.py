from datetime import date
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator

from households.review.models import ObjectionOutcome
from kit.contracts.households import ReviewState
from kit.fields import IsoDate, UtcDatetime

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class StepInput(BaseModel):
    to: ReviewState = Field(
        description="The state to move to: the next one (`surveyed`, `posted`, `approved`)."
    )
    note: Annotated[Text, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="A note kept in the review's history."
    )
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
    reason: Annotated[Text, StringConstraints(max_length=1000)] = Field(
        description="Why the approved review is reopened; kept in its history."
    )


class StepRead(BaseModel):
    from_state: ReviewState = Field(description="The state before the step.")
    to_state: ReviewState = Field(description="The state after it.")
    reopened: bool = Field(description="True for an admin's reopening of an approved review.")
    actor: str = Field(description="Who made the step.")
    at: UtcDatetime = Field(description="When (UTC).")
    note: str | None = Field(description="The note given, if any.")


class CommuneReviewRead(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    commune_code: str = Field(description="The commune's code.")
    state: ReviewState = Field(description="Where the commune's review stands.")
    version: int = Field(description="Raised by every step; 0 while nothing has been recorded.")
    next_states: list[ReviewState] = Field(description="Where a step may take the review now.")
    posting_from: date | None = Field(
        description=("First day of the public posting of the lists; set by the step to `posted`.")
    )
    posting_until: date | None = Field(description="Last day of the posting, inclusive.")
    history: list[StepRead] = Field(description="Every step, oldest first.")


class AgreementInput(BaseModel):
    household_id: UUID = Field(
        description="A household surveyed in the commune whose result the meeting discussed."
    )
    agreeing: int = Field(ge=0, description="Attendees who agreed with the household's result.")


class MeetingInput(BaseModel):
    village: Annotated[Text, StringConstraints(max_length=120)] = Field(
        description="The village or residential group that met."
    )
    held_on: IsoDate = Field(description="The meeting's date.")
    attendance: int = Field(ge=1, le=100_000, description="Household representatives present.")
    agreements: list[AgreementInput] = Field(
        min_length=1,
        max_length=5_000,
        description="For each household discussed: how many attendees agreed with its result.",
    )


class HouseholdRef(BaseModel):
    household_id: UUID = Field(description="The household's id.")
    household_code: str = Field(description="The household's code in its commune.")


class AgreementRead(HouseholdRef):
    agreeing: int = Field(description="Attendees who agreed with the household's result.")
    agreement_share: float = Field(description="Agreeing attendees over attendance, 0 to 1.")
    needs_resurvey: bool = Field(description="Below the agreement threshold.")


class MeetingRead(BaseModel):
    id: UUID = Field(description="The meeting's id.")
    village: str = Field(description="The village or residential group that met.")
    held_on: date = Field(description="The meeting's date.")
    attendance: int = Field(description="Household representatives present.")
    recorded_by: str = Field(description="Who recorded it.")
    recorded_at: UtcDatetime = Field(description="When it was recorded (UTC).")
    agreements: list[AgreementRead] = Field(
        description=(
            "For each household discussed: the agreement, and whether it must be re-surveyed."
        )
    )


class MeetingList(BaseModel):
    items: list[MeetingRead] = Field(
        description="The commune's village meetings in the round, oldest first."
    )
    total: int = Field(description="How many meetings were recorded.")
    needs_resurvey: list[HouseholdRef] = Field(
        description="Surveyed households whose last meeting agreed below the threshold and that "
        "have not been re-surveyed since."
    )
    not_discussed: list[HouseholdRef] = Field(
        description="Surveyed households that no meeting has discussed yet."
    )


class ObjectionInput(BaseModel):
    household_id: UUID = Field(
        description="The household whose result is objected to; surveyed in the commune."
    )
    lodged_on: IsoDate = Field(
        description="When it was lodged: within the posting, not after today."
    )
    lodged_by: Annotated[Text, StringConstraints(max_length=120)] = Field(
        description="Who lodged it (a name, a household, an organisation). Personal data."
    )
    text: Annotated[Text, StringConstraints(max_length=2000)] = Field(
        description="The objection, as lodged."
    )


class RecheckInput(BaseModel):
    outcome: ObjectionOutcome = Field(description="What the re-check found.")
    note: Annotated[Text, StringConstraints(max_length=1000)] = Field(
        description="What was checked and found, for the record."
    )


class ObjectionRead(BaseModel):
    id: UUID = Field(description="The objection's id.")
    household_id: UUID = Field(description="The household objected to.")
    lodged_on: date = Field(description="When it was lodged.")
    lodged_by: str = Field(description="Who lodged it (`***` when masked).")
    text: str = Field(description="The objection (`***` when masked).")
    recorded_by: str = Field(description="Who recorded it.")
    recorded_at: UtcDatetime = Field(description="When it was recorded (UTC).")
    outcome: ObjectionOutcome | None = Field(
        description="The re-check's finding; null until re-checked."
    )
    recheck_note: str | None = Field(description="What the re-check found, for people.")
    rechecked_by: str | None = Field(description="Who re-checked it.")
    rechecked_at: UtcDatetime | None = Field(description="When it was re-checked (UTC).")
    personal_data_masked: bool = Field(
        default=False, description="Who lodged it and its text withheld (the caller's role)."
    )


class ObjectionList(BaseModel):
    items: list[ObjectionRead] = Field(
        description="Objections lodged during the posting, oldest first."
    )
    total: int = Field(description="How many objections were recorded.")
    open: int = Field(description="Objections not yet re-checked.")


class CommuneState(BaseModel):
    commune_code: str = Field(description="The commune's code.")
    state: ReviewState = Field(description="Where its review stands.")


class ProvinceApprovalRead(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    province_code: str = Field(description="The province's code.")
    approved: bool = Field(description="Whether the province has approved the round's results.")
    approved_by: str | None = Field(description="Who approved them; null before.")
    approved_at: UtcDatetime | None = Field(description="When (UTC); null before.")
    communes: list[CommuneState] = Field(
        description="The communes the approval needs (docs/review-round.md), with their states."
    )
