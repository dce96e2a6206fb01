"""The service's copy of where each commune's review of a round stands, and province approvals:
what makes figures approved or provisional."""

from datetime import datetime
from uuid import UUID

from sqlmodel import Field

from indicators.db import Base
from kit.db import UtcDateTime


class CommuneReviewCopy(Base, table=True):
    """The newest step of a commune's review in a round (by the review's version)."""

    __tablename__ = "commune_review_copy"

    round_id: UUID = Field(primary_key=True)
    commune_code: str = Field(primary_key=True, max_length=5)
    province_code: str = Field(max_length=2)
    state: str = Field(max_length=10)
    version: int


class ProvinceApprovalCopy(Base, table=True):
    """A province's approval of a round, and its withdrawal when a commune is reopened after it.

    Approved while `approved_at` is later than `withdrawn_at` (or nothing was withdrawn), so the
    two events give the same answer in whichever order they arrive."""

    __tablename__ = "province_approval_copy"

    round_id: UUID = Field(primary_key=True)
    province_code: str = Field(primary_key=True, max_length=2)
    approved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
