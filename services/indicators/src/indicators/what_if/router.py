from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from indicators.recalculation.models import JobStatus
from indicators.what_if import service as what_if_service
from indicators.what_if.models import WhatIfJob
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES
from kit.fields import RequestBody

router = APIRouter(prefix="/api/v1/what-if", tags=["what-if"], responses=PROBLEM_RESPONSES)
# As heavy as a recalculation, and its answer holds exact counts: the same roles.
WhatIfRunner = Annotated[Caller, requires(Permission.RECALCULATIONS_RUN)]
WhatIfReader = Annotated[Caller, requires(Permission.RECALCULATIONS_READ)]
WhatIfJobId = Annotated[
    UUID, Path(description="The what-if job's id, from `POST /api/v1/what-if`.")
]

# DOMAIN §2: Decree 351/2025 confirms the 2027-2030 income lines; its indicators are not final.
VN_2027_2030_LINES: dict[str, Any] = {
    "round_id": "00000000-0000-4000-8000-000000002026",
    "base_standard_id": "VN-2022-2025",
    "changes": {
        "id": "VN-2022-2025-lines-2027",
        "income_test": {"poverty_line": {"rural": 2_200_000, "urban": 2_800_000}},
    },
}


class WhatIfRequest(RequestBody):
    round_id: UUID = Field(
        description="The round whose households are classified (its surveys as recorded)."
    )
    base_standard_id: str = Field(
        max_length=40, description="The published standard the draft starts from."
    )
    changes: dict[str, Any] = Field(
        default={},
        description="Merged into the base standard's definition (GET /api/v1/standards/{id}): "
        "objects key by key, lists replaced, `indicators` either a list or an object by "
        "indicator key whose entries merge into those indicators. The result is validated as "
        "a shipped standard is; each problem is named by its field.",
    )

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                VN_2027_2030_LINES,
                {
                    "round_id": "00000000-0000-4000-8000-000000002026",
                    "base_standard_id": "VN-2027-2030",
                    "changes": {},
                },
                {
                    "round_id": "00000000-0000-4000-8000-000000002026",
                    "base_standard_id": "VN-2022-2025",
                    "changes": {
                        "id": "VN-2022-2025-cutoff-150",
                        "income_test": {"score_cutoff": {"rural": 150, "urban": 185}},
                        "deprivation_score": {"poor_min_score": 40},
                    },
                },
            ]
        },
    )


class WhatIfClassCounts(BaseModel):
    households: dict[str, int] = Field(
        description="Households by class (`poor`, `near_poor`, `average`, `not_poor`, "
        "`unclassified`). Exact: only roles that see exact counts may run a what-if."
    )
    persons: dict[str, int] = Field(description="Their members, by the households' class.")


class UnitComparison(BaseModel):
    unit_code: str = Field(description="A unit's code, on the round's map.")
    resident_households: int | None = Field(description="The rates' denominator, if entered.")
    resident_persons: int | None = Field(description="The persons' denominator, if entered.")
    official: WhatIfClassCounts = Field(description="Counts by the households' official classes.")
    draft: WhatIfClassCounts = Field(
        description="Counts by their classes under the draft (`unclassified`: the draft does "
        "not apply to the household)."
    )
    changed_households: int = Field(description="Households whose class differs.")
    moves: dict[str, int] = Field(description="`official->draft`: how many households.")


class WhatIfRead(BaseModel):
    id: UUID = Field(description="The what-if job's id (`GET /api/v1/what-if/{job_id}`).")
    round_id: UUID = Field(description="The round whose households are classified.")
    unit_scope: list[str] | None = Field(
        description="The requester's units whose subtrees are classified; None: the whole round."
    )
    base_standard_id: str = Field(description="The published standard the draft starts from.")
    draft_standard_id: str = Field(
        description="The draft's id: `changes.id` if given, else the base standard's."
    )
    official_figures_changed: bool = Field(default=False, description="Never: a what-if.")
    status: JobStatus = Field(description="Where the job stands.")
    total: int = Field(description="Households to classify.")
    done: int = Field(description="Households classified so far.")
    progress_percent: float = Field(description="done ÷ total, in % (100 once succeeded).")
    changed_classes: int = Field(
        description="Households whose class under the draft differs from their official one."
    )
    units: list[UnitComparison] | None = Field(
        description="Per unit of the households' paths, in code order, once succeeded."
    )
    error: str | None = Field(description="Why it failed; None unless `failed`.")
    requested_at: datetime = Field(description="When it was requested.")
    started_at: datetime | None = Field(description="When a worker started it; None: queued.")
    finished_at: datetime | None = Field(description="When it succeeded or failed.")


def _read(job: WhatIfJob) -> WhatIfRead:
    progress = (
        100.0
        if job.status == JobStatus.succeeded
        else (round(100 * job.done / job.total, 1) if job.total else 0.0)
    )
    return WhatIfRead(
        id=job.id,
        round_id=job.round_id,
        unit_scope=job.unit_scope,
        base_standard_id=job.base_standard_id,
        draft_standard_id=job.draft["id"],
        status=job.status,
        total=job.total,
        done=job.done,
        progress_percent=progress,
        changed_classes=job.changed_classes,
        units=None if job.result is None else [UnitComparison(**unit) for unit in job.result],
        error=job.error,
        requested_at=job.requested_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=WhatIfRead)
async def request_what_if(
    caller: WhatIfRunner, body: WhatIfRequest, session: SessionDep, response: Response
) -> WhatIfRead:
    """Classify a round's households (within the caller's units) under a draft standard, as a
    job, without touching the official figures; the answer sets the counts side by side.

    Records a queued job (`Location` names it; poll `GET /api/v1/what-if/{job_id}`); no class,
    figure or event of the round changes. The draft is `changes` merged into the base standard
    and validated as a shipped standard is (422 names each problem by its field)."""
    job = await what_if_service.request(
        session, caller, body.round_id, body.base_standard_id, body.changes
    )
    response.headers["Location"] = f"/api/v1/what-if/{job.id}"
    return _read(job)


@router.get("/{job_id}", response_model=WhatIfRead)
async def get_what_if(caller: WhatIfReader, job_id: WhatIfJobId, session: SessionDep) -> WhatIfRead:
    """A what-if job's progress and, once it succeeded, its comparison per unit."""
    return _read(await what_if_service.get(session, caller, job_id))
