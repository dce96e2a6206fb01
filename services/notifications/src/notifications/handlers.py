"""What the notifications service does with each event it consumes: every type of the catalogue
is fanned out to the subscriptions that want it (a type added to `kit.contracts` later is taken
without a change here); class changes also feed the unit inbox, review steps the reminder
calendar, and changes of access suspend the subscriptions of the identity concerned."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit import contracts
from kit.contracts import AccessChangedV1, Envelope, Event
from kit.contracts.households import ReviewReopenedV1, ReviewStepChangedV1
from kit.contracts.indicators import HouseholdClassChangedV1, HouseholdClassesChangedV1
from kit.messaging import BatchEventHandler, EventConsumer
from notifications.db import inbox
from notifications.delivery import content
from notifications.delivery import service as delivery_service
from notifications.notification import service as notification_service
from notifications.reminders import service as reminder_service
from notifications.subscription import service as subscription_service

CONSUMER = "notifications"


async def on_events(
    session: AsyncSession, deliveries: Sequence[tuple[Envelope, Event | None]]
) -> None:
    """A batch of events in delivery order: each one's own effects, then the batch's units and
    fan-out in a few statements. A change of access is a boundary: what came before it is fanned
    out first, so that it suspends subscriptions only for the events after it, as one at a time.
    Only the types of `ACTED_ON` come with their typed event (the others with None): a type this
    function acts on belongs there."""
    waiting: list[Envelope] = []
    for envelope, event in deliveries:
        if isinstance(event, AccessChangedV1):
            await _fan_out(session, waiting)
            waiting = []
            await subscription_service.suspend_for_access_change(session, event)
        elif isinstance(event, HouseholdClassChangedV1 | HouseholdClassesChangedV1):
            await notification_service.notify_class_changes(session, envelope, event)
        elif isinstance(event, ReviewStepChangedV1 | ReviewReopenedV1):
            await reminder_service.on_review_step(session, envelope, event)
        waiting.append(envelope)
    await _fan_out(session, waiting)


async def _fan_out(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    paths = [path for envelope in envelopes for path in content.unit_paths(envelope.data)]
    await subscription_service.remember_units(session, paths)
    await delivery_service.fan_out(session, envelopes)


# The types whose events `on_events` reads; every other type is only fanned out, from the data
# as it came (`content` reads it as JSON), so its events are not validated again here.
ACTED_ON: set[type[Event]] = {
    AccessChangedV1,
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    ReviewStepChangedV1,
    ReviewReopenedV1,
}


def consumer(sessionmaker: async_sessionmaker[AsyncSession]) -> EventConsumer:
    # The catalogue as it is when the worker starts: a type added to it needs no change here.
    types = set(contracts.EVENT_TYPES.values())
    handlers: dict[type[Event], BatchEventHandler] = {event: on_events for event in types}
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=sessionmaker,
        inbox=inbox,
        batch_handlers=handlers,
        forwarded=types - ACTED_ON,
    )
