from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import JSON
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class Target(Base, table=True):
    """A unit's target: a rate at or below a value by a review year (`below_by`), or down by a
    number of points a year (`reduction_per_year`), from a baseline rate. Its `status` is the
    latest check's (`service.check_targets`), `status_changes` counts its changes (the events'
    sequence)."""

    __tablename__ = "target"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    unit_code: str = Field(max_length=5, index=True)
    province_code: str = Field(max_length=2, index=True)
    unit_path: list[str] = Field(sa_column=Column(JSON, nullable=False))
    measure: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    value_percent: float
    baseline_year: int
    baseline_percent: float
    target_year: int
    note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    status: str = Field(default="unknown", max_length=12)
    status_changes: int = 0
    checked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
