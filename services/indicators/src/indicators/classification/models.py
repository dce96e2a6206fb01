"""The indicators service's copy of every assessment, and the classification derived from it."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class AssessmentCopy(Base, table=True):
    """Event-carried state: the latest assessment event per assessment, by sequence."""

    __tablename__ = "assessment_copy"

    assessment_id: UUID = Field(primary_key=True)
    household_id: UUID = Field(index=True)
    round_id: UUID = Field(index=True)
    sequence: int
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class HouseholdClassification(Base, table=True):
    """The household's class in a round under the round's standard, with the reasons."""

    __tablename__ = "household_classification"

    assessment_id: UUID = Field(primary_key=True)
    household_id: UUID = Field(index=True)
    household_code: str = Field(max_length=40)
    round_id: UUID = Field(index=True)
    standard_id: str = Field(max_length=40)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3, index=True)
    commune_code: str = Field(max_length=5, index=True)
    commune_name: str | None = Field(default=None, max_length=120)
    unit_path: list[str] = Field(sa_column=Column(JSON, nullable=False))
    area: str = Field(max_length=5)
    persons: int
    household_class: str = Field(max_length=12, index=True)
    deprivation_count: int
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    revision: int = 1  # counts class changes: the sequence of the class-changed events
    # The household's record key (`figures/cell_key.py`), kept so that a restatement sums the
    # keys of the households it regroups in SQL; None until a recalculation fills it in.
    record_key: int | None = Field(default=None, sa_type=BigInteger)
    classified_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
