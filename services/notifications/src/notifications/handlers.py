"""What the notifications service does with each event it consumes."""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import Envelope
from kit.contracts.indicators import HouseholdClassChangedV1
from kit.messaging import EventConsumer
from notifications.db import inbox
from notifications.notification import service as notification_service

CONSUMER = "notifications"


async def on_class_changed(
    session: AsyncSession, envelope: Envelope, event: HouseholdClassChangedV1
) -> None:
    await notification_service.notify_class_change(session, envelope, event)


def consumer(sessionmaker: async_sessionmaker[AsyncSession]) -> EventConsumer:
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=sessionmaker,
        inbox=inbox,
        handlers={HouseholdClassChangedV1: on_class_changed},
    )
