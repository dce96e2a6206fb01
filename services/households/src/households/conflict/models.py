from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlmodel import Column, Field

from households.db import Base
from kit.db import UtcDateTime, utc_now


class NationalIdConflict(Base, table=True):
    """A national ID recorded in two households' surveys of a round: one person in one household
    per round, so supervisors covering both decide which household keeps the person.

    The holder recorded the ID first (it holds the `national_id_claim`); the claimant's survey is
    recorded all the same and needs review. The ID is kept as a hash: the surveys hold it."""

    __tablename__ = "national_id_conflict"
    __table_args__ = (UniqueConstraint("claimant_id", "national_id_hash"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    round_id: UUID = Field(index=True)
    national_id_hash: str = Field(max_length=64)
    holder_id: UUID = Field(
        sa_column=Column(
            ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    claimant_id: UUID = Field(
        sa_column=Column(
            ForeignKey("assessment.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    holder_household_id: UUID
    claimant_household_id: UUID
    # Both households' units: a caller covers the conflict only if its scope holds both.
    holder_province_code: str = Field(max_length=2)
    holder_district_code: str = Field(max_length=3)
    holder_commune_code: str = Field(max_length=5)
    claimant_province_code: str = Field(max_length=2)
    claimant_district_code: str = Field(max_length=3)
    claimant_commune_code: str = Field(max_length=5)
    opened_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolved_by: str | None = Field(default=None, max_length=120)
    kept_household_id: UUID | None = None
