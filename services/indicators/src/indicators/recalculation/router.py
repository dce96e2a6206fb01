from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from indicators.recalculation import service as recalculation_service
from indicators.recalculation.models import JobStatus, RecalculationJob
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES
from kit.fields import RequestBody

router = APIRouter(
    prefix="/api/v1/recalculations", tags=["recalculations"], responses=PROBLEM_RESPONSES
)
# A recalculation covers a round within the requester's units; its jobs hold counts, never
# households.
RecalculationReader = Annotated[Caller, requires(Permission.RECALCULATIONS_READ)]
RecalculationRunner = Annotated[Caller, requires(Permission.RECALCULATIONS_RUN)]


class RecalculationRequest(RequestBody):
    round_id: UUID = Field(description="The round to recalculate, within the caller's scope.")


class RecalculationRead(BaseModel):
    id: UUID = Field(description="The job's id.")
    round_id: UUID = Field(description="The review round's id.")
    unit_scope: list[str] | None = Field(
        description="The units whose subtrees it recalculates (the requester's); null: all."
    )
    status: JobStatus = Field(description="Where the job stands.")
    total: int = Field(description="Households to classify again.")
    done: int = Field(description="Households done so far.")
    progress_percent: float = Field(description="done ÷ total, 0 to 100.")
    changed_classes: int = Field(description="Households whose class changed.")
    figures_changed: int = Field(description="Units whose figures changed.")
    error: str | None = Field(description="Why the job failed; null otherwise.")
    requested_at: datetime = Field(description="When it was asked for (UTC).")
    started_at: datetime | None = Field(description="When the worker started it (UTC).")
    finished_at: datetime | None = Field(description="When it succeeded or failed (UTC).")


def _read(job: RecalculationJob) -> RecalculationRead:
    progress = (
        100.0
        if job.status == JobStatus.succeeded
        else (round(100 * job.done / job.total, 1) if job.total else 0.0)
    )
    return RecalculationRead(**job.model_dump(), progress_percent=progress)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=RecalculationRead)
async def request_recalculation(
    caller: RecalculationRunner,
    recalculation: RecalculationRequest,
    session: SessionDep,
    response: Response,
) -> RecalculationRead:
    """Recalculate a round's classifications and figures from scratch, as a job: within the
    caller's units if it has a unit scope (every other counter stays as it is)."""
    job = await recalculation_service.request(session, recalculation.round_id, caller)
    response.headers["Location"] = f"/api/v1/recalculations/{job.id}"
    return _read(job)


@router.get("/{job_id}", response_model=RecalculationRead)
async def get_recalculation(
    caller: RecalculationReader, job_id: UUID, session: SessionDep
) -> RecalculationRead:
    """A recalculation job's status and progress."""
    return _read(await recalculation_service.get(session, job_id))
