"""Claiming the worker's jobs (recalculations, report files, what-ifs) with a lease.

Each kind is a table with the same few columns: `status` (queued, running, succeeded, failed),
`requested_at`, `started_at`, `finished_at`, `heartbeat_at` (renewed while it runs), `attempts`
and `error`. A worker takes the oldest queued job, or a running one whose worker stopped renewing
its lease (killed, or cut off from the database): every kind starts from the service's own
data, so the new worker simply runs it again. A job taken `MAX_CLAIMS` times without finishing
fails instead, so that one that kills its worker cannot do so forever.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Protocol, TypeVar, cast
from uuid import UUID

import structlog
from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.db import utc_now

log = structlog.get_logger()
MAX_CLAIMS = 3  # workers that may take a job before it fails


class LeasedJob(Protocol):
    id: UUID
    status: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    attempts: int
    error: str | None


J = TypeVar("J", bound=SQLModel)


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: type[J],
    *,
    lease_seconds: float,
    max_claims: int = MAX_CLAIMS,
) -> J | None:
    """Take the next job of this kind (see the module), marked running under a fresh lease."""
    table = cast(type[LeasedJob], kind)
    while True:
        async with sessionmaker() as session, session.begin():
            stale = utc_now() - timedelta(seconds=lease_seconds)
            claimable = or_(
                col(table.status) == "queued",
                and_(
                    col(table.status) == "running",
                    # No heartbeat at all: running since before jobs had leases.
                    or_(col(table.heartbeat_at).is_(None), col(table.heartbeat_at) < stale),
                ),
            )
            statement = (
                select(kind)
                .where(claimable)
                .order_by(col(table.requested_at))
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            claimed = (await session.exec(statement)).first()
            if claimed is None:
                return None
            job = cast(LeasedJob, claimed)
            states = type(job.status)  # the kind's own status enum
            now = utc_now()
            name = kind.__tablename__
            if job.attempts >= max_claims:
                job.status, job.finished_at = states("failed"), now
                job.error = f"its worker stopped {job.attempts} times before it finished"
                log.warning("job.abandoned", kind=name, attempts=job.attempts)
                continue
            if job.status == "running":
                log.warning("job.taken_over", kind=name, attempts=job.attempts)
            job.status, job.heartbeat_at, job.attempts = states("running"), now, job.attempts + 1
            job.started_at = job.started_at or now
            return claimed


@contextlib.asynccontextmanager
async def lease_renewed(
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: type[SQLModel],
    job_id: UUID,
    *,
    every: float,
) -> AsyncIterator[None]:
    """Renew the job's lease every `every` seconds while the block runs: for a step that reports
    no progress while it lasts (one set-wise statement over a round), which would otherwise look
    like a dead worker's once it outlasts the lease."""

    async def renew() -> None:
        table = cast(type[LeasedJob], kind)
        statement = update(kind).where(col(table.id) == job_id)
        while True:
            await asyncio.sleep(every)
            try:
                async with sessionmaker() as session, session.begin():
                    await session.exec(statement.values({col(table.heartbeat_at): utc_now()}))
            except Exception as error:  # a missed renewal is retried; the work goes on meanwhile
                log.warning("job.lease_not_renewed", job_id=str(job_id), error=repr(error))

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
