"""Dead letters, subscribable (the issue: "dead letters for admins"), of two kinds:

- `deadletter.message`: messages of the bus that a service's consumer could never apply and that
  now wait in its queue's dead-letter queue. The workers look at every queue's dead-letter count
  (`DEAD_LETTER_POLL_SECONDS`); a rise is told once, whichever worker sees it first (a
  conditional update of `dead_letter_watch`). For admins only (`operations:manage` replays them):
  the notice names the queue, the count and where to read them, never a message's body.
- `deadletter.delivery`: a webhook or e-mail delivery of this service that failed all its
  attempts. Told to the failed subscription's owner (the integrator whose receiver is down) and
  to admins, those of them subscribed to the type. A dead-letter notice that itself fails all its
  attempts raises no further notice (no chain of them).

Both are events fanned out like any other (once per subscriber by the unique keys), with ids
derived from what they are about.
"""

from collections.abc import Sequence
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Role
from kit.contracts import Envelope
from kit.db import insert_for, table_of, utc_now
from kit.messaging import MessageBus, QueueSpec
from notifications.deadletters.models import DeadLetterWatch
from notifications.delivery import service as delivery_service
from notifications.subscription.models import Subscription

log = structlog.get_logger()
MESSAGE_TYPE = "deadletter.message"
DELIVERY_TYPE = "deadletter.delivery"
TYPES = (DELIVERY_TYPE, MESSAGE_TYPE)
ADMIN_ONLY = (MESSAGE_TYPE,)
_DEAD_LETTERS = uuid5(NAMESPACE_URL, "urn:poverty-review:notifications:dead-letter")


def _service_of(queue: str) -> str:
    # Queues are named `<service>.<what>` (kit.messaging.topology).
    return queue.split(".", 1)[0]


async def watch(
    sessionmaker: async_sessionmaker[AsyncSession], bus: MessageBus, queues: Sequence[QueueSpec]
) -> int:
    """Look at each queue's dead letters; tell a rise since the last look. How many rises."""
    rises = 0
    for queue in queues:
        try:
            depth = await bus.queue_depth(queue)
        except Exception:  # the broker refused the look (a queue not declared yet): next time
            log.warning("dead_letters.unreadable", queue=queue.name, exc_info=True)
            continue
        if depth is None:  # the broker is out of reach: next time
            continue
        async with sessionmaker() as session, session.begin():
            rises += await _compare(session, queue.name, depth[1])
    return rises


async def _compare(session: AsyncSession, queue: str, dead_letters: int) -> int:
    table = table_of(DeadLetterWatch)
    await session.exec(
        insert_for(session, table)
        .values(queue=queue, dead_letters=0, rises=0, checked_at=utc_now())
        .on_conflict_do_nothing()
    )
    seen = await session.get(DeadLetterWatch, queue, populate_existing=True)
    assert seen is not None
    before = seen.dead_letters
    if dead_letters == before:
        return 0
    # Recorded only if no other worker recorded a count meanwhile: one notice per rise.
    recorded = await session.exec(
        update(table)
        .where(table.c.queue == queue, table.c.dead_letters == before, table.c.rises == seen.rises)
        .values(
            dead_letters=dead_letters,
            rises=table.c.rises + (1 if dead_letters > before else 0),
            checked_at=utc_now(),
        )
    )
    if recorded.rowcount == 0 or dead_letters < before:  # another worker's, or replayed
        return 0
    service = _service_of(queue)
    envelope = _envelope(
        MESSAGE_TYPE,
        key=f"{queue}:{seen.rises + 1}",
        data={
            "queue": queue,
            "service": service,
            "dead_letters": dead_letters,
            "new_dead_letters": dead_letters - before,
            "read_at": f"/api/v1/admin/{service}/dead-letters",
        },
    )
    await delivery_service.fan_out(
        session, [envelope], recipients=lambda s: s.owner_role == Role.ADMIN
    )
    return 1


async def delivery_failed(
    session: AsyncSession,
    delivery: "delivery_service.ClaimedDelivery",  # quoted: the two modules import each other
    subscription: Subscription,
    error: str | None,
) -> None:
    """Tell the owner and the admins subscribed that `delivery` failed all its attempts."""
    if delivery.event_type in TYPES:
        return  # a notice about a notice that could not be delivered: not told again
    envelope = _envelope(
        DELIVERY_TYPE,
        key=f"{delivery.id}:{delivery.attempts}",  # a redelivery that fails again is told again
        data={
            "subscription_id": str(subscription.id),
            "owner_subject": subscription.owner_subject,
            "delivery_id": str(delivery.id),
            "channel": delivery.channel,
            "event_type": delivery.event_type,
            "event_id": str(delivery.event_id),
            "attempts": delivery.attempts,
            "last_error": error,
            "redeliver": f"/api/v1/subscriptions/{subscription.id}/deliveries/{delivery.id}"
            "/redeliver",
        },
    )
    owner = subscription.owner_subject
    await delivery_service.fan_out(
        session,
        [envelope],
        recipients=lambda s: s.owner_subject == owner or s.owner_role == Role.ADMIN,
    )


def _envelope(type_: str, *, key: str, data: dict[str, Any]) -> Envelope:
    return Envelope(
        id=uuid5(_DEAD_LETTERS, f"{type_}:{key}"),
        type=type_,
        schema_version=1,
        producer="notifications",
        subject=key,
        sequence=1,
        data=data,
    )
