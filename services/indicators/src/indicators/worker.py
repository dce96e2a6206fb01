"""`python -m indicators.worker`: consume events, run recalculation and report jobs, forever."""

import asyncio

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.config import Settings
from indicators.figures.cell_key import record_keys
from indicators.handlers import consumer
from indicators.left_behind import service as left_behind_service
from indicators.recalculation import service as recalculation_service
from indicators.recalculation.models import RecalculationJob
from indicators.reports import service as report_service
from indicators.targets import service as targets_service
from indicators.what_if import service as what_if_service
from kit import runner
from kit.db import make_engine, make_sessionmaker, table_of, unavailable
from kit.messaging.topology import INDICATORS_QUEUE
from kit.metrics import PROCESS_SAMPLER, job_sampler

log = structlog.get_logger()


async def run_recalculations(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Take queued recalculation jobs one at a time; several workers share them."""

    async def take_one() -> bool:
        job = await recalculation_service.claim_next(
            sessionmaker, lease_seconds=settings.RECALCULATION_LEASE_SECONDS
        )
        if job is None:
            return False
        log.info("recalculation.started", job_id=str(job.id), round_id=str(job.round_id))
        await recalculation_service.run(
            sessionmaker,
            job.id,
            batch_size=settings.RECALCULATION_BATCH_SIZE,
            record_keys=record_keys(settings),
        )
        return True

    PROCESS_SAMPLER.add(
        "jobs:recalculation",
        job_sampler(
            sessionmaker,
            table_of(RecalculationJob),
            service=settings.SERVICE_NAME,
            kind="recalculation",
            done="done",
            total="total",
        ),
    )
    await runner.repeat(take_one, idle_seconds=settings.RECALCULATION_POLL_SECONDS)


async def run_report_jobs(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Take queued report jobs one at a time (a province's workbooks); several workers share
    them, under the recalculations' lease."""

    async def take_one() -> bool:
        return await report_service.run_next(
            sessionmaker, lease_seconds=settings.RECALCULATION_LEASE_SECONDS
        )

    await runner.repeat(take_one, idle_seconds=settings.RECALCULATION_POLL_SECONDS)


async def run_target_checks(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Check every target against the figures every `TARGETS_CHECK_SECONDS`, forever."""

    async def check() -> bool:
        async with sessionmaker() as session, session.begin():
            staged = await targets_service.check_targets(session)
        if staged:
            log.info("targets.announced", events=staged)
        return False  # wait the interval, whatever was found

    await runner.repeat(check, idle_seconds=settings.TARGETS_CHECK_SECONDS)


async def run_left_behind_checks(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Every `LEFT_BEHIND_CHECK_SECONDS`, move onto the left-behind lists the households whose
    configured days without support have run out (docs/digital-inclusion.md), forever."""

    async def check() -> bool:
        rule = left_behind_service.configured_rule(settings)
        try:
            async with sessionmaker() as session, session.begin():
                entered = await left_behind_service.check_waiting(session, rule)
        except DBAPIError as error:
            if unavailable(error):
                raise  # `repeat` waits for the database
            # A deadlock with a consumer writing the same rows: the next check finds them again.
            log.warning("left_behind.check_failed", error=repr(error))
            return False
        if entered:
            log.info("left_behind.check_entered", households=entered)
        return False  # wait the interval, whatever was found

    await runner.repeat(check, idle_seconds=settings.LEFT_BEHIND_CHECK_SECONDS)


async def run_what_ifs(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Take queued what-if jobs one at a time (they share the recalculations' settings)."""

    async def take_one() -> bool:
        job_id = await what_if_service.claim_next(
            sessionmaker, lease_seconds=settings.RECALCULATION_LEASE_SECONDS
        )
        if job_id is None:
            return False
        log.info("what_if.started", job_id=str(job_id))
        await what_if_service.run(
            sessionmaker,
            job_id,
            record_keys=record_keys(settings),
            renew_every=settings.RECALCULATION_LEASE_SECONDS / 4,
        )
        return True

    await runner.repeat(take_one, idle_seconds=settings.RECALCULATION_POLL_SECONDS)


async def main(settings: Settings) -> None:
    engine = make_engine(settings.DATABASE_URL)
    try:
        await asyncio.gather(
            runner.consume_forever(
                settings, INDICATORS_QUEUE, lambda sessionmaker: consumer(sessionmaker, settings)
            ),
            run_recalculations(make_sessionmaker(engine), settings),
            run_report_jobs(make_sessionmaker(engine), settings),
            run_target_checks(make_sessionmaker(engine), settings),
            run_left_behind_checks(make_sessionmaker(engine), settings),
            run_what_ifs(make_sessionmaker(engine), settings),
        )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    settings = Settings()
    runner.run(settings, lambda: main(settings))
