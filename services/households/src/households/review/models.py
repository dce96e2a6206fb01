"""A commune's review in a round (DOMAIN §6): its state and every step, the village meetings, the
objections lodged during the public posting, and each province's approval of the round."""

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import ForeignKey, Index
from sqlmodel import Column, Field

from households.db import Base, stored_as_value
from kit.contracts.households import ReviewState
from kit.db import UtcDateTime, utc_now


class CommuneReview(Base, table=True):
    """Where a commune's review in a round stands; a commune without a row is `open`."""

    __tablename__ = "commune_review"

    round_id: UUID = Field(foreign_key="review_round.id", primary_key=True)
    commune_code: str = Field(max_length=5, primary_key=True)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3)
    state: ReviewState = Field(sa_type=stored_as_value(ReviewState, 16))
    # Raised by every step and reopening: the sequence of the review's events.
    version: int = 0
    # The public posting at the commune, given when the review moves to `posted`.
    posting_from: date | None = None
    posting_until: date | None = None
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class ReviewStep(Base, table=True):
    """One move of a commune's review: who, when, from, to, and why."""

    __tablename__ = "review_step"
    __table_args__ = (Index("ix_review_step_commune", "round_id", "commune_code"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: UUID
    commune_code: str = Field(max_length=5)
    from_state: ReviewState = Field(sa_type=stored_as_value(ReviewState, 16))
    to_state: ReviewState = Field(sa_type=stored_as_value(ReviewState, 16))
    reopened: bool = False  # an admin's reopening rather than a step of the review
    actor: str = Field(max_length=120)
    at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    note: str | None = Field(default=None, max_length=1000)


class VillageMeeting(Base, table=True):
    """A village meeting's record: who came, and how many of them agreed on each household."""

    __tablename__ = "village_meeting"
    __table_args__ = (Index("ix_village_meeting_commune", "round_id", "commune_code"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    round_id: UUID = Field(foreign_key="review_round.id")
    commune_code: str = Field(max_length=5)
    village: str = Field(max_length=120)
    held_on: date
    attendance: int = Field(ge=1)
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class MeetingAgreement(Base, table=True):
    """How many of a meeting's attendees agreed with one household's survey result."""

    __tablename__ = "meeting_agreement"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: UUID = Field(
        sa_column=Column(
            ForeignKey("village_meeting.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    household_id: UUID = Field(index=True)
    agreeing: int = Field(ge=0)
    # The survey the meeting discussed: a later version is a re-survey after the meeting.
    assessment_version: int


class ObjectionOutcome(StrEnum):
    """What the re-check of an objection found.

    - `upheld`: the objection was right: the household's survey is to be corrected
    - `rejected`: the survey stands
    """

    upheld = "upheld"  # the objection was right: the household's survey is to be corrected
    rejected = "rejected"  # the survey stands


class PostingObjection(Base, table=True):
    """An objection to a household's result, lodged during the public posting, and its re-check."""

    __tablename__ = "posting_objection"
    __table_args__ = (Index("ix_posting_objection_commune", "round_id", "commune_code"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    round_id: UUID = Field(foreign_key="review_round.id")
    commune_code: str = Field(max_length=5)
    household_id: UUID
    lodged_on: date
    lodged_by: str = Field(max_length=120)  # a person's name: personal data
    text: str = Field(max_length=2000)
    recorded_by: str = Field(max_length=120)
    recorded_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    outcome: ObjectionOutcome | None = Field(
        default=None, sa_type=stored_as_value(ObjectionOutcome, 16)
    )
    recheck_note: str | None = Field(default=None, max_length=1000)
    rechecked_by: str | None = Field(default=None, max_length=120)
    rechecked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ProvinceApproval(Base, table=True):
    """A province's approval of a round; withdrawn when one of its communes is reopened."""

    __tablename__ = "province_approval"

    round_id: UUID = Field(foreign_key="review_round.id", primary_key=True)
    province_code: str = Field(max_length=2, primary_key=True)
    approved: bool
    # Raised by every approval and withdrawal: the sequence of the approval's events.
    version: int = 1
    communes: int
    approved_by: str = Field(max_length=120)
    approved_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
