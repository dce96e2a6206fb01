"""`python -m notifications.worker`: consume events, send deliveries and digests, fire the
review calendar's reminders, tell the bus's dead letters, forever. Several workers may run:
deliveries are claimed with a lease, digests and reminders are written once by their unique keys,
a rise of dead letters is told once (a conditional update)."""

import asyncio

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit import runner
from kit.db import make_engine, make_sessionmaker
from kit.messaging import MessageBus
from kit.messaging.topology import ALL_QUEUES, NOTIFICATIONS_QUEUE
from kit.service import make_bus
from notifications.config import Settings
from notifications.deadletters import service as dead_letter_service
from notifications.delivery import service as delivery_service
from notifications.delivery.worker import DeliveryWorker
from notifications.handlers import consumer
from notifications.reminders import service as reminder_service


async def run_schedules(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Daily digests and reminders, looked at every REMINDER_POLL_SECONDS."""

    async def step() -> bool:
        await delivery_service.schedule_digests(sessionmaker, digest_hour=settings.DIGEST_HOUR)
        await reminder_service.send_due(sessionmaker)
        return False

    await runner.repeat(step, idle_seconds=settings.REMINDER_POLL_SECONDS)


async def run_dead_letter_watch(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, bus: MessageBus
) -> None:
    """Every queue's dead letters, looked at every DEAD_LETTER_POLL_SECONDS."""

    async def step() -> bool:
        await dead_letter_service.watch(sessionmaker, bus, ALL_QUEUES)
        return False

    await runner.repeat(step, idle_seconds=settings.DEAD_LETTER_POLL_SECONDS)


async def run_deliveries(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    await DeliveryWorker(sessionmaker, settings).run()


async def main(settings: Settings) -> None:
    engine = make_engine(settings.DATABASE_URL)
    sessionmaker = make_sessionmaker(engine)
    bus = make_bus(settings)  # its own connection, for looking at the dead-letter queues
    await bus.start()
    try:
        await asyncio.gather(
            runner.consume_forever(settings, NOTIFICATIONS_QUEUE, consumer),
            run_deliveries(sessionmaker, settings),
            run_schedules(sessionmaker, settings),
            run_dead_letter_watch(sessionmaker, settings, bus),
        )
    finally:
        await bus.close()
        await engine.dispose()


if __name__ == "__main__":
    settings = Settings()
    runner.run(settings, lambda: main(settings))
