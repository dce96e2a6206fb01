"""The worker's recalculation loop outlives its database connections (PostgreSQL only)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from indicators.config import Settings
from indicators.figures import service as figures_service
from indicators.models import metadata
from indicators.recalculation import service as recalculation_service
from indicators.recalculation.models import JobStatus, RecalculationJob
from indicators.worker import run_recalculations
from kit import testing
from kit.auth import Caller, Role
from kit.db import make_engine, make_sessionmaker

pytestmark = pytest.mark.infra
ADMIN = Caller(subject="test-admin", role=Role.ADMIN, unit_scope=None)


@pytest.fixture
async def postgres() -> AsyncIterator[tuple[str, AsyncEngine]]:
    testing.require_infra()
    url = await testing.create_database("indicators_outage")
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield url, engine
    await engine.dispose()
    await testing.drop_database(url)


async def _terminate_connections(url: str) -> int:
    """What an operator's `pg_terminate_backend` (or a restart) does to the worker's pool."""
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(testing.POSTGRES_URL)
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return len(rows)


async def _status(engine: AsyncEngine, job_id: object) -> JobStatus:
    async with make_sessionmaker(engine)() as session:
        job = await session.get(RecalculationJob, job_id)
        assert job is not None
        return job.status


async def test_the_loop_survives_terminated_connections_and_takes_the_next_job(
    postgres: tuple[str, AsyncEngine],
) -> None:
    url, engine = postgres
    settings = Settings(DATABASE_URL=url, RECALCULATION_POLL_SECONDS=0.05)
    loop = asyncio.create_task(run_recalculations(make_sessionmaker(engine), settings))
    try:
        await asyncio.sleep(0.3)  # the loop has polled: its pool holds a connection
        assert await _terminate_connections(url) >= 1
        await asyncio.sleep(0.5)  # polls on the dead connection meet the lost connection
        assert not loop.done(), loop.exception() if loop.done() else None

        round_id = uuid4()
        async with make_sessionmaker(engine)() as session, session.begin():
            await figures_service.remember_rounds(
                session, {round_id: ("VN-2022-2025", 2024, date(2024, 11, 1))}
            )
            job = await recalculation_service.request(session, round_id, ADMIN)
        for _ in range(200):
            if await _status(engine, job.id) is JobStatus.succeeded:
                break
            await asyncio.sleep(0.05)
        assert await _status(engine, job.id) is JobStatus.succeeded
        assert not loop.done()
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
