from uuid import UUID

from pydantic import BaseModel, Field

from households.imports.models import ImportFormat, ImportJob, ImportStatus
from kit.fields import UtcDatetime


class ImportRead(BaseModel):
    """An import job: where it stands, what it did, and where its error report is."""

    id: UUID
    round_id: UUID
    format: ImportFormat
    filename: str
    size_bytes: int
    status: ImportStatus
    total_rows: int | None = Field(description="Data rows in the file (known once it started).")
    rows_done: int = Field(description="Rows read and settled: imported, skipped or failed.")
    rows_failed: int = Field(description="Rows of households that were not imported.")
    progress_percent: float
    households_imported: int
    households_skipped: int = Field(
        description="Already surveyed in the round (a re-upload): left as they were."
    )
    households_failed: int
    error: str | None = Field(description="Why a failed job stopped.")
    created_by: str
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    errors_url: str = Field(description="The row errors as CSV: row, field, message.")

    @classmethod
    def of(cls, job: ImportJob) -> "ImportRead":
        if job.status == ImportStatus.completed:
            progress = 100.0
        elif job.total_rows:
            progress = min(99.9, round(100 * job.rows_done / job.total_rows, 1))
        else:
            progress = 0.0
        return cls.model_validate(
            job.model_dump()
            | {"progress_percent": progress, "errors_url": f"/api/v1/imports/{job.id}/errors.csv"}
        )


class ImportList(BaseModel):
    items: list[ImportRead]
    total: int
    offset: int
    limit: int
