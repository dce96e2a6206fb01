from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlmodel import Column, Field

from households.db import Base
from kit.contracts.households import Area, Latrine, WaterSource
from kit.db import UtcDateTime, utc_now


class HouseholdBase(Base):
    household_code: str = Field(
        max_length=40,
        index=True,
        description="The household's code, unique in its commune (as on the commune's lists).",
    )
    commune_code: str = Field(
        max_length=5,
        index=True,
        description="The commune it lives in (5 digits), on the map in force.",
    )
    village: str = Field(
        max_length=120, description="Its village or residential group (thôn, xóm, tổ dân phố)."
    )
    address: str | None = Field(
        default=None, max_length=300, description="House number and street, if any. Personal data."
    )
    head_name: str | None = Field(
        default=None,
        max_length=120,
        description="The head of household's full name. Personal data.",
    )


class Household(HouseholdBase, table=True):
    # Unique per commune, not nationally: a national key would tell whoever registers a code
    # whether a commune outside their scope already uses it.
    __table_args__ = (UniqueConstraint("commune_code", "household_code"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3, index=True)
    version: int = 1
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class Assessment(Base, table=True):
    """One household's survey in one review round; members are a roster as of that round."""

    __table_args__ = (UniqueConstraint("household_id", "round_id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_id: UUID = Field(
        sa_column=Column(ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    round_id: UUID = Field(
        sa_column=Column(ForeignKey("review_round.id"), nullable=False, index=True)
    )
    version: int = 1
    commune_code: str = Field(max_length=5)
    area: Area
    members: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    dwelling: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    water_source: WaterSource
    latrine: Latrine
    internet_use: bool
    devices: list[str] = Field(sa_column=Column(JSON, nullable=False))
    income_score_a: int | None = None
    monthly_income_per_person: int | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class NationalIdClaim(Base, table=True):
    """A national ID may appear once per round: the unique key decides races between writers."""

    __tablename__ = "national_id_claim"
    __table_args__ = (UniqueConstraint("round_id", "national_id"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: UUID = Field(index=True)
    national_id: str = Field(max_length=12)
    assessment_id: UUID = Field(
        sa_column=Column(
            ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
