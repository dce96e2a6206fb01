"""`python -m households.importer`: run bulk-import jobs, forever.

Takes queued jobs, and running jobs whose runner stopped (their lease ran out), one at a time;
several importers share the jobs. It reads the uploads from `IMPORT_DIR`, which it must share
with the API that received them.
"""

from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from households.config import Settings
from households.imports import service as import_service
from households.imports.limits import Limits
from households.imports.models import ImportJob
from kit import runner
from kit.cache import ReferenceCache
from kit.db import make_engine, make_sessionmaker, table_of
from kit.metrics import PROCESS_SAMPLER, job_sampler

log = structlog.get_logger()


async def run_imports(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """The runner loop; the embedded platform runs it as a task of its event loop."""
    PROCESS_SAMPLER.add(
        "jobs:import",
        job_sampler(
            sessionmaker,
            table_of(ImportJob),
            service=settings.SERVICE_NAME,
            kind="import",
            done="rows_done",
            total="total_rows",
        ),
    )
    await import_service.run_forever(
        sessionmaker,
        directory=Path(settings.IMPORT_DIR),
        batch_size=settings.IMPORT_BATCH_SIZE,
        limits=Limits.of(settings),
        poll_seconds=settings.IMPORT_POLL_SECONDS,
        lease_seconds=settings.IMPORT_LEASE_SECONDS,
    )


async def main(settings: Settings) -> None:
    engine = make_engine(settings.DATABASE_URL)
    log.info("importer.started", directory=settings.IMPORT_DIR)
    try:
        # Units met by one batch are remembered for the next ones (`unit_service.communes_on`).
        await run_imports(make_sessionmaker(engine, references=ReferenceCache()), settings)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    settings = Settings()
    runner.run(settings, lambda: main(settings))
