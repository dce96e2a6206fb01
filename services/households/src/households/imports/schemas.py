from uuid import UUID

from pydantic import BaseModel, Field

from households.imports.models import ImportFormat, ImportJob, ImportKind, ImportStatus
from kit.fields import UtcDatetime


class ImportRead(BaseModel):
    """An import job: where it stands, what it did, and where its error report is."""

    id: UUID = Field(description="The import's id.")
    kind: ImportKind = Field(
        default=ImportKind.surveys, description="What the file holds: surveys or support records."
    )
    round_id: UUID | None = Field(
        description="The round whose surveys it records; null for support records."
    )
    format: ImportFormat = Field(description="The file's format.")
    filename: str = Field(description="The uploaded file's name.")
    size_bytes: int = Field(description="The file's size in bytes.")
    status: ImportStatus = Field(description="Where the import stands.")
    total_rows: int | None = Field(description="Data rows in the file (known once it started).")
    rows_done: int = Field(description="Rows read and settled: imported, skipped or failed.")
    rows_failed: int = Field(description="Rows of households that were not imported.")
    progress_percent: float = Field(description="Share of rows settled, 0 to 100.")
    households_imported: int = Field(
        description="Households registered or updated with their survey; for a support import, "
        "support records written."
    )
    households_skipped: int = Field(
        description="Already surveyed in the round (a re-upload): left as they were; for a "
        "support import, records already written the same."
    )
    households_failed: int = Field(
        description="Households with at least one refused row (see `errors_url`); for a support "
        "import, refused records."
    )
    error: str | None = Field(description="Why a failed job stopped.")
    created_by: str = Field(description="Who uploaded it.")
    created_at: UtcDatetime = Field(description="When it was uploaded (UTC).")
    started_at: UtcDatetime | None = Field(description="When a runner started reading it (UTC).")
    finished_at: UtcDatetime | None = Field(description="When it completed or failed (UTC).")
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
    items: list[ImportRead] = Field(description="This page's imports, in the list's stable order.")
    total: int = Field(description="How many imports match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")
