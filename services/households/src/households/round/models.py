from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from households.db import Base
from kit.db import UtcDateTime, utc_now


class RoundKind(StrEnum):
    """The kind of review (rà soát).

    - `periodic`: the annual review of every household, 1 September to 14 December
    - `regular`: the monthly review of households that ask for it
    """

    periodic = "periodic"  # the annual review, 1 Sep - 14 Dec
    regular = "regular"  # monthly, on a household's request


class RoundBase(Base):
    year: int = Field(ge=2000, le=2100, description="The review year.")
    kind: RoundKind = Field(description="Periodic (annual) or regular (monthly) review.")
    reference_date: date = Field(
        description="The day the round describes: units are resolved and ages counted on it."
    )
    standard_id: str = Field(
        max_length=40,
        description=("The poverty standard the round is assessed under (`GET /api/v1/standards`)."),
    )
    name: str = Field(
        max_length=200, description="A name for people; by default from the year and kind."
    )


class ReviewRound(RoundBase, table=True):
    __tablename__ = "review_round"
    __table_args__ = (UniqueConstraint("year", "kind", "reference_date"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
