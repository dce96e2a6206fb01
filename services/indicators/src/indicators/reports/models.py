from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import JSON, LargeBinary
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class ReportJobStatus(StrEnum):
    """Where a report job stands.

    - `queued`: waiting for the worker
    - `running`: being generated; `progress_percent` grows
    - `succeeded`: done; the file is at `download`
    - `failed`: stopped; `error` says why, no file
    """

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class ReportJob(Base, table=True):
    """A report file generated in the background for the caller who asked for it, whose role
    and scope it keeps: the file holds what that caller may see, and only that caller gets it."""

    __tablename__ = "report_job"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    round_id: UUID = Field(index=True)
    unit_code: str = Field(max_length=5)
    map_day: date | None = None
    lang: str = Field(max_length=2)
    format: str = Field(max_length=4)
    report: str | None = Field(default=None, max_length=20)  # None: every report (XLSX)
    from_round_id: UUID | None = None  # reports 2 and 3 start here; None: without them
    names: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=200, index=True)
    created_by_role: str = Field(max_length=40)
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: ReportJobStatus = Field(default=ReportJobStatus.queued, index=True)
    total: int = 0
    done: int = 0
    error: str | None = Field(default=None, max_length=2000)
    filename: str | None = Field(default=None, max_length=200)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    requested_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0
