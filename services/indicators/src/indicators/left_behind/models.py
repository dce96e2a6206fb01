"""The service's copy of the help community digital teams gave households, and each
information-deprived household's place on its round's left-behind list."""

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import JSON, Index
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class SupportCopy(Base, table=True):
    """One support record (`households.support.recorded.v1`), or the tombstone of one withdrawn
    before its record arrived (`given_on` None, `withdrawn` true): the record, when it comes, fills
    the facts in and stays withdrawn. Support records are written once; only withdrawal changes
    them."""

    __tablename__ = "support_copy"
    __table_args__ = (Index("ix_support_copy_household_given_on", "household_id", "given_on"),)

    support_id: UUID = Field(primary_key=True)
    household_id: UUID
    commune_code: str = Field(max_length=5)
    kind: str | None = Field(default=None, max_length=30)
    device: str | None = Field(default=None, max_length=30)
    given_on: date | None = None  # None: only its withdrawal has arrived yet
    withdrawn: bool = False
    received_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class LeftBehindHousehold(Base, table=True):
    """A household deprived in an information indicator of its round's standard at some survey
    of the round, and what the list needs of it. Kept when a re-survey finds it no longer deprived
    (`deprived` false), so that `entries` keeps counting its entries onto the list: the sequence
    of its `indicators.household.left_behind.v1` events."""

    __tablename__ = "left_behind_household"
    __table_args__ = (
        Index("ix_left_behind_household_round_commune", "round_id", "commune_code"),
        Index("ix_left_behind_household_round_province", "round_id", "province_code"),
    )

    household_id: UUID = Field(primary_key=True)
    round_id: UUID = Field(primary_key=True)
    assessment_id: UUID
    household_code: str = Field(max_length=40)
    standard_id: str = Field(max_length=40)
    province_code: str = Field(max_length=2)
    district_code: str = Field(max_length=3)
    commune_code: str = Field(max_length=5)
    commune_name: str | None = Field(default=None, max_length=120)
    unit_path: list[str] = Field(sa_column=Column(JSON, nullable=False))
    household_class: str = Field(max_length=12)
    # The round's reference date: the day the survey describes the household on (docs/
    # digital-inclusion.md says why it stands for the survey date).
    survey_date: date
    deprived_indicators: list[str] = Field(sa_column=Column(JSON, nullable=False))
    deprived: bool
    # The latest support given on or after the survey date and not withdrawn.
    last_support_on: date | None = None
    # On the list under the configured rule (`LEFT_BEHIND_WITHIN_DAYS`) when last evaluated.
    on_list: bool = False
    entries: int = 0
    entered_on: date | None = None
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
