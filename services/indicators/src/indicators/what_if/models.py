from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON
from sqlmodel import Column, Field

from indicators.db import Base
from indicators.recalculation.models import JobStatus
from kit.db import UtcDateTime, utc_now


class WhatIfJob(Base, table=True):
    """A round's households classified under a draft standard, beside their official classes.

    Nothing official is written: the answer is `result`, counts per unit (see docs/what-if)."""

    __tablename__ = "what_if_job"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    round_id: UUID = Field(index=True)
    # The requester's units: only their subtrees are classified. None: the whole round.
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    base_standard_id: str = Field(max_length=40)
    draft: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    requested_by: str = Field(max_length=200)
    status: JobStatus = Field(default=JobStatus.queued, index=True)
    total: int = 0
    done: int = 0
    changed_classes: int = 0
    result: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = None
    requested_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0
