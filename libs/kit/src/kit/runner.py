"""Long-running processes of the distributed deployment: outbox relays and event workers.

Each service's `relay.py` / `worker.py` is a few lines calling these, run as `python -m ...`.
"""

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import structlog
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.db import make_engine, make_sessionmaker, through_outages
from kit.logging import configure_logging
from kit.messaging import EventConsumer, MessageBus, OutboxRelay, QueueSpec
from kit.metrics import PROCESS_SAMPLER, outbox_sampler, queue_sampler
from kit.ops import serving
from kit.service import make_bus
from kit.settings import ServiceSettings

log = structlog.get_logger()

ConsumerFactory = Callable[[async_sessionmaker[AsyncSession]], EventConsumer]


def build_relay(
    settings: ServiceSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    outbox: Table,
    bus: MessageBus,
) -> OutboxRelay:
    return OutboxRelay(
        sessionmaker,
        outbox,
        bus,
        service=settings.SERVICE_NAME,
        batch_size=settings.RELAY_BATCH_SIZE,
        poll_seconds=settings.RELAY_POLL_SECONDS,
    )


async def relay_forever(settings: ServiceSettings, outbox: Table) -> None:
    engine = make_engine(settings.DATABASE_URL)
    bus = make_bus(settings)
    await bus.start()
    log.info("relay.started", service=settings.SERVICE_NAME)
    sessionmaker = make_sessionmaker(engine)
    PROCESS_SAMPLER.add(
        f"outbox:{settings.SERVICE_NAME}",
        outbox_sampler(sessionmaker, outbox, settings.SERVICE_NAME),
    )
    try:
        await build_relay(settings, sessionmaker, outbox, bus).run()
    finally:
        await bus.close()
        await engine.dispose()


async def consume(
    settings: ServiceSettings, bus: MessageBus, queue: QueueSpec, consumer: EventConsumer
) -> None:
    """Start delivering `queue` to `consumer` in batches sized by the settings."""
    await bus.consume_batches(
        queue,
        consumer.handle_batch,
        size=settings.CONSUMER_BATCH_SIZE,
        max_wait=settings.CONSUMER_BATCH_WAIT_SECONDS,
    )


async def consume_forever(
    settings: ServiceSettings, queue: QueueSpec, consumer: ConsumerFactory
) -> None:
    engine = make_engine(settings.DATABASE_URL)
    bus = make_bus(settings)
    await bus.start()
    await consume(settings, bus, queue, consumer(make_sessionmaker(engine)))
    PROCESS_SAMPLER.add(f"queue:{queue.name}", queue_sampler(bus, [queue]))
    log.info("worker.started", service=settings.SERVICE_NAME, queue=queue.name)
    try:
        await asyncio.Event().wait()
    finally:
        await bus.close()
        await engine.dispose()


async def repeat(
    step: Callable[[], Awaitable[bool]],
    *,
    idle_seconds: float,
    max_backoff_seconds: float = 30.0,
) -> None:
    """Run `step` forever: at once again when it did some work, after `idle_seconds` when not.

    When the database cannot be reached (a restart, a dropped connection) the step is retried
    with growing, jittered waits instead of ending the process; any other error is a defect and
    ends it, to be seen.
    """
    retrying = through_outages("loop.database_unavailable", max_wait_seconds=max_backoff_seconds)
    while True:
        # Each call starts a fresh retry state: the backoff grows within one outage only.
        if not await retrying(step):
            await asyncio.sleep(idle_seconds)


# Net allocations of objects the collector tracks before it looks at the youngest ones (Python's
# default: 700). See `collect_garbage_rarely`.
YOUNG_GARBAGE_THRESHOLD = 100_000


def collect_garbage_rarely() -> None:
    """Keep Python's cycle collector from walking a batch process's heap again and again.

    What the process built to start (modules, schemas, table metadata) is frozen out of the
    collector's reach, and young objects are looked at every `YOUNG_GARBAGE_THRESHOLD` net
    allocations instead of every 700. Reference counting frees a batch's objects as soon as they
    are done with; the collector only finds cycles. Measured importing 100,000 households
    (docs/benchmarks.md, P6): with Python's defaults the importer spent 21.7 of its 39.9 CPU
    seconds and the indicators worker 23.4 of 50.2 in the collector, mostly in about a hundred
    full collections each (0.2 s apiece: every live object visited); with this, 0.03 s and 2.2 s,
    and no process's peak memory grew by more than 16 MiB.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_GARBAGE_THRESHOLD, *gc.get_threshold()[1:])


def run(settings: ServiceSettings, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main()` until SIGINT or SIGTERM, then let it clean up.

    Meanwhile the process serves its metrics and health on METRICS_PORT (`kit.ops`).
    """
    configure_logging(settings)
    collect_garbage_rarely()

    async def observed() -> None:
        PROCESS_SAMPLER.interval = settings.METRICS_SAMPLE_SECONDS
        async with serving(settings.METRICS_PORT, host=settings.METRICS_HOST):
            await main()

    async def supervised() -> None:
        task = asyncio.create_task(observed())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            log.info("process.stopped", service=settings.SERVICE_NAME)

    asyncio.run(supervised())


__all__ = [
    "build_relay",
    "collect_garbage_rarely",
    "consume",
    "consume_forever",
    "relay_forever",
    "repeat",
    "run",
]
