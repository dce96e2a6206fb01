from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import JSON
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class JobStatus(StrEnum):
    """Where a recalculation (or what-if) job stands.

    - `queued`: waiting for the worker
    - `running`: being recalculated; `progress_percent` grows
    - `succeeded`: done; classes and figures are current (a what-if: its comparison is ready)
    - `failed`: stopped; `error` says why, nothing half-written stays
    """

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class RecalculationJob(Base, table=True):
    """A full recalculation of one round's classifications and figures from the local copy."""

    __tablename__ = "recalculation_job"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    round_id: UUID = Field(index=True)
    # The requester's units: only their subtrees are recalculated. None: the whole round.
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: JobStatus = Field(default=JobStatus.queued, index=True)
    total: int = 0
    done: int = 0
    changed_classes: int = 0
    figures_changed: int = 0
    error: str | None = None
    requested_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # The lease of the worker running it, renewed with every batch of progress: a job whose
    # worker died (its heartbeat older than the lease) is taken again and restarted.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0


class RoundLock(Base, table=True):
    """One row per round: consumers hold it shared, a recalculation's final write exclusively."""

    __tablename__ = "round_lock"

    round_id: UUID = Field(primary_key=True)
