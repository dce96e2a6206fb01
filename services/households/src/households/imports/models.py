"""Bulk-import jobs: an uploaded file of households with their surveys (or of support records),
imported batch by batch."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import JSON, ForeignKey
from sqlmodel import Column, Field

from households.db import Base, stored_as_value
from kit.db import UtcDateTime, utc_now


class ImportFormat(StrEnum):
    """The uploaded file's format (docs/bulk-import.md).

    - `csv`: the CSV template, one row per member
    - `xlsx`: the XLSX template, one row per member
    - `jsonl`: the synthetic generator's JSON lines, one household with its survey a line
    """

    csv = "csv"
    xlsx = "xlsx"
    jsonl = "jsonl"


class ImportKind(StrEnum):
    """What the uploaded file holds (docs/bulk-import.md).

    - `surveys`: households with their surveys in a round (`round_id` required)
    - `support`: support records given by digital teams, one a row (no round)
    """

    surveys = "surveys"
    support = "support"


class ImportStatus(StrEnum):
    """Where an import stands.

    - `queued`: uploaded, waiting for a runner
    - `running`: being read; `progress_percent` grows
    - `completed`: every row was read; rows with errors are in the error report
    - `failed`: the file could not be read to the end; rows committed so far stay
    """

    queued = "queued"  # uploaded, waiting for a runner
    running = "running"  # a runner holds it (or held it, if its heartbeat is old: interrupted)
    completed = "completed"  # every row was read; rows with errors are in the report
    failed = "failed"  # the file could not be read to the end; rows committed so far stay


class ImportJob(Base, table=True):
    """One uploaded file and how far its import has come.

    `next_row` is the first row of the file not yet committed: each batch commits its households,
    their events, its row errors and the new `next_row` in one transaction, so a runner that takes
    over an interrupted job resumes exactly there.
    """

    __tablename__ = "import_job"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    kind: ImportKind = Field(default=ImportKind.surveys, sa_type=stored_as_value(ImportKind, 16))
    # The round of a survey import; none for support records, which are dated each.
    round_id: UUID | None = Field(
        default=None, sa_column=Column(ForeignKey("review_round.id"), nullable=True, index=True)
    )
    format: ImportFormat = Field(sa_type=stored_as_value(ImportFormat, 8))
    filename: str = Field(max_length=255, description="The name the file was uploaded with.")
    size_bytes: int
    status: ImportStatus = Field(
        default=ImportStatus.queued, sa_type=stored_as_value(ImportStatus, 16), index=True
    )
    total_rows: int | None = None
    next_row: int = 0
    rows_done: int = 0
    rows_failed: int = 0
    households_imported: int = 0
    households_skipped: int = 0
    households_failed: int = 0
    error: str | None = Field(default=None, max_length=2000)
    created_by: str = Field(max_length=200, index=True)
    created_by_role: str = Field(max_length=40)
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    request_id: str | None = Field(default=None, max_length=100)
    claim_token: UUID | None = None
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ImportRowError(Base, table=True):
    """One problem with one row of an import's file: its row number, the field, what is wrong."""

    __tablename__ = "import_row_error"

    id: int | None = Field(default=None, primary_key=True)
    job_id: UUID = Field(
        sa_column=Column(
            ForeignKey("import_job.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    row: int
    field: str = Field(max_length=200)
    message: str = Field(max_length=1000)
