from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel import JSON, Column, Field

from households.db import Base
from kit.db import UtcDateTime, utc_now


class AuditEntry(Base, table=True):
    """One change to a household, survey or population, or one bulk read of personal data."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, index=True)
    actor: str = Field(max_length=120, index=True)
    action: str = Field(max_length=40)
    household_id: UUID | None = Field(default=None, index=True)
    # Where it happened, for scoped queries; None for a bulk read not limited to one unit.
    province_code: str | None = Field(default=None, max_length=2, index=True)
    district_code: str | None = Field(default=None, max_length=3, index=True)
    commune_code: str | None = Field(default=None, max_length=5, index=True)
    # {field: {"old": ..., "new": ...}} for a change; the query and row count for a bulk read.
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=64)
