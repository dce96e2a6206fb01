"""What the notifications service does with each event it consumes: every type of the catalogue
is fanned out to the subscriptions that want it (a type added to `kit.contracts` later is taken
without a change here); class changes also feed the unit inbox, review steps the reminder
calendar, and changes of access suspend the subscriptions of the identity concerned."""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit import contracts
from kit.contracts import AccessChangedV1, Envelope, Event
from kit.contracts.households import ReviewReopenedV1, ReviewStepChangedV1
from kit.contracts.indicators import HouseholdClassChangedV1, HouseholdClassesChangedV1
from kit.messaging import EventConsumer, EventHandler
from notifications.db import inbox
from notifications.delivery import content
from notifications.delivery import service as delivery_service
from notifications.notification import service as notification_service
from notifications.reminders import service as reminder_service
from notifications.subscription import service as subscription_service

CONSUMER = "notifications"


async def on_event(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    if isinstance(event, HouseholdClassChangedV1 | HouseholdClassesChangedV1):
        await notification_service.notify_class_changes(session, envelope, event)
    elif isinstance(event, ReviewStepChangedV1 | ReviewReopenedV1):
        await reminder_service.on_review_step(session, envelope, event)
    elif isinstance(event, AccessChangedV1):
        await subscription_service.suspend_for_access_change(session, event)
    await subscription_service.remember_units(session, content.unit_paths(envelope.data))
    await delivery_service.fan_out(session, envelope)


def consumer(sessionmaker: async_sessionmaker[AsyncSession]) -> EventConsumer:
    # The catalogue as it is when the worker starts: a type added to it needs no change here.
    handlers: dict[type[Event], EventHandler] = {
        event: on_event for event in contracts.EVENT_TYPES.values()
    }
    return EventConsumer(name=CONSUMER, sessionmaker=sessionmaker, inbox=inbox, handlers=handlers)
