from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlmodel import Column, Field

from households.db import Base
from kit.db import UtcDateTime, utc_now


class UnitPopulation(Base, table=True):
    """The official denominator: resident households and persons of a commune in a round."""

    __tablename__ = "unit_population"
    __table_args__ = (UniqueConstraint("round_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: UUID = Field(sa_column=Column(ForeignKey("review_round.id"), nullable=False))
    unit_code: str = Field(max_length=5, index=True)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3, index=True)
    resident_households: int
    resident_persons: int
    version: int = 1
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
