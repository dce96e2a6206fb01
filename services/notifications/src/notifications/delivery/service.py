"""Fan-out of events to subscriptions, and the deliveries' lifecycle: claim, send, retry, log.

Fan-out runs in the consumer's transaction: inbox items are written at once; webhook and e-mail
deliveries are written as rows (`Delivery`) that the delivery worker sends. Both are keyed by
(event, subscription[, channel]) with a unique constraint, so a redelivered event or a second
worker adds nothing. The worker claims due rows with a lease (`sending` until `lease_until`), so
a worker that dies mid-delivery leaves rows another worker takes over when the lease has run out;
such a row is sent again with the same `webhook-id`, which receivers use to drop the repeat.
"""

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import and_, or_, true, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import RetryCallState, wait_exponential_jitter

from kit.contracts import Envelope
from kit.db import insert_for, table_of, utc_now
from notifications.deadletters import service as dead_letters
from notifications.delivery import content
from notifications.delivery.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryChannel,
    DeliveryStatus,
)
from notifications.inbox.models import InboxItem
from notifications.subscription.models import (
    Channel,
    Digest,
    Status,
    Subscription,
    SubscriptionEventType,
)

log = structlog.get_logger()
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
NOTICE_TYPE = "notice.subscription"
_NOTICES = uuid5(NAMESPACE_URL, "urn:poverty-review:notifications:notice")


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIME).date()


# --- fan-out -------------------------------------------------------------------------------------


def _matches_threshold(subscription: Subscription, data: dict[str, Any]) -> bool:
    if subscription.threshold_field is None:
        return True
    value = data.get(subscription.threshold_field)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False  # an event without the figure says nothing about the threshold
    low, high = subscription.threshold_at_least, subscription.threshold_at_most
    return (low is not None and value >= low) or (high is not None and value <= high)


def _within_owner_scope(subscription: Subscription, path: Sequence[str]) -> bool:
    units = subscription.owner_units
    return units is None or not path or any(code in units for code in path)


async def matching_subscriptions(
    session: AsyncSession, event_types: Collection[str], paths: Collection[Sequence[str]]
) -> list[tuple[str, Subscription]]:
    """(event type, subscription) for the active subscriptions to any of `event_types` that may
    want an event about a unit of `paths` (or about no unit): `wants` says which, per event."""
    codes = sorted({code for path in paths for code in path})
    statement = (
        select(SubscriptionEventType.event_type, Subscription)
        .join(Subscription, col(SubscriptionEventType.subscription_id) == col(Subscription.id))
        .where(
            col(SubscriptionEventType.event_type).in_(sorted(set(event_types))),
            col(Subscription.status) == Status.active,
            or_(col(Subscription.unit_code).is_(None), col(Subscription.unit_code).in_(codes))
            if all(paths)
            else true(),
        )
    )
    rows = await session.exec(statement)
    return [(event_type, subscription) for event_type, subscription in rows]


def wants(subscription: Subscription, path: Sequence[str], data: dict[str, Any]) -> bool:
    """A subscription to the event's type wants it: about its unit (or about none), within its
    owner's scope, past its threshold."""
    return (
        (not path or subscription.unit_code is None or subscription.unit_code in path)
        and _within_owner_scope(subscription, path)
        and _matches_threshold(subscription, data)
    )


async def fan_out(
    session: AsyncSession,
    envelopes: Sequence[Envelope],
    *,
    recipients: Callable[[Subscription], bool] | None = None,
) -> int:
    """Deliver a batch of events to every subscription that wants each (of those `recipients`
    accepts, for a notice meant for some only): the subscriptions read once for the batch, the
    rows written together; how many (event, subscription) pairs matched."""
    if not envelopes:
        return 0
    paths = {envelope.id: content.unit_path(envelope.data) for envelope in envelopes}
    by_type: dict[str, list[Subscription]] = {}
    for event_type, subscription in await matching_subscriptions(
        session, {envelope.type for envelope in envelopes}, list(paths.values())
    ):
        if recipients is None or recipients(subscription):
            by_type.setdefault(event_type, []).append(subscription)
    if not by_type:
        return 0
    now = utc_now()
    inbox_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    matched = 0
    for envelope in envelopes:
        path = paths[envelope.id]
        subscriptions = [s for s in by_type.get(envelope.type, ()) if wants(s, path, envelope.data)]
        matched += len(subscriptions)
        _rows_for(envelope, path, subscriptions, now, inbox_rows, delivery_rows)
    if inbox_rows:
        statement = insert_for(session, table_of(InboxItem)).on_conflict_do_nothing()
        await session.exec(statement, params=inbox_rows)
    if delivery_rows:
        statement = insert_for(session, table_of(Delivery)).on_conflict_do_nothing()
        await session.exec(statement, params=delivery_rows)
    return matched


def _rows_for(
    envelope: Envelope,
    path: Sequence[str],
    subscriptions: Sequence[Subscription],
    now: datetime,
    inbox_rows: list[dict[str, Any]],
    delivery_rows: list[dict[str, Any]],
) -> None:
    """The inbox items and deliveries of one event for its subscriptions."""
    occurred_at = envelope.occurred_at.isoformat()
    unit_code = path[-1] if path else None
    # What a subscriber sees depends on its role, scope and language only: computed once for all
    # the subscribers who share them (thousands, for a province's officers).
    views: dict[tuple[str, tuple[str, ...] | None, str], tuple[Any, str, list[str]] | None] = {}
    for subscription in subscriptions:
        units = _covered_units(subscription)
        key = (subscription.owner_role, units, subscription.language)
        if key not in views:
            views[key] = _view(envelope, subscription.owner_role, units, subscription.language)
        view = views[key]
        if view is None:
            continue
        data, title, lines = view
        if Channel.inbox in subscription.channels:
            inbox_rows.append(
                {
                    "id": uuid5(subscription.id, str(envelope.id)),
                    "owner_subject": subscription.owner_subject,
                    "subscription_id": subscription.id,
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "unit_code": unit_code,
                    "title": title,
                    "body": "\n".join(lines),
                    "data": data,
                    "created_at": now,
                    "read_at": None,
                }
            )
        if (
            Channel.webhook in subscription.channels
            and subscription.webhook_url
            and subscription.webhook_disabled_at is None
        ):
            body = json.dumps(content.webhook_body(envelope, data), ensure_ascii=False)
            delivery_rows.append(
                _delivery(subscription, envelope, DeliveryChannel.webhook, body, now)
            )
        if Channel.email in subscription.channels and subscription.email_address:
            letter = {
                "title": title,
                "lines": lines,
                "event_type": envelope.type,
                "occurred_at": occurred_at,
            }
            row = _delivery(subscription, envelope, DeliveryChannel.email, json.dumps(letter), now)
            if subscription.digest == Digest.daily:
                row |= {"status": DeliveryStatus.held, "digest_day": local_day(now)}
            delivery_rows.append(row)


def _covered_units(subscription: Subscription) -> tuple[str, ...] | None:
    """The units whose items of an event about many (a batch of support records or surveys) the
    subscription receives: its own unit when it names one (always within the owner's scope),
    else the owner's scope; None: the whole country."""
    if subscription.unit_code is not None:
        return (subscription.unit_code,)
    return tuple(subscription.owner_units) if subscription.owner_units is not None else None


def _view(
    envelope: Envelope, role: str, units: tuple[str, ...] | None, language: str
) -> tuple[Any, str, list[str]] | None:
    """The event's data as one kind of subscriber may see it, its title and its text lines; None
    when nothing of it concerns the subscriber's units."""
    data = content.visible_data(envelope.data, role)
    if units is not None:
        data, concerned = content.within_scope(data, units)
        if not concerned:
            return None
    return data, content.title(envelope.type, language), content.summary_lines(data)


def _delivery(
    subscription: Subscription,
    envelope: Envelope,
    channel: DeliveryChannel,
    payload: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid5(subscription.id, f"{envelope.id}:{channel.value}"),
        "subscription_id": subscription.id,
        "event_id": envelope.id,
        "event_type": envelope.type,
        "channel": channel.value,
        "status": DeliveryStatus.pending,
        "payload": payload,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "digest_day": None,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }


async def notice(session: AsyncSession, subscription: Subscription, key: str, text: str) -> None:
    """A message to the subscription's owner in their own inbox, once per `key`."""
    event_id = uuid5(_NOTICES, f"{subscription.id}:{key}")
    statement = (
        insert_for(session, table_of(InboxItem))
        .values(
            id=uuid5(subscription.id, str(event_id)),
            owner_subject=subscription.owner_subject,
            subscription_id=subscription.id,
            event_id=event_id,
            event_type=NOTICE_TYPE,
            unit_code=subscription.unit_code,
            title=content.title(NOTICE_TYPE, subscription.language),
            body=text,
            data={"subscription_id": str(subscription.id), "notice": key},
            created_at=utc_now(),
        )
        .on_conflict_do_nothing()
    )
    await session.exec(statement)


# --- claiming and retrying -----------------------------------------------------------------------


def retry_delay(attempt: int, *, initial: float, maximum: float) -> float:
    """Seconds before the attempt after `attempt` (1-based): exponential with jitter, tenacity's
    `wait_exponential_jitter`, computed here and persisted as `next_attempt_at` so that the
    schedule survives the worker's restarts."""
    wait = wait_exponential_jitter(multiplier=initial, max=maximum, exp_base=2, jitter=initial)
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    return float(wait(state))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    retry_initial: float
    retry_max: float
    disable_after: int  # failed deliveries in a row that disable a webhook


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery's row as claimed: plain values, not an ORM object (which cost a third of the
    worker's CPU to build, at hundreds a second)."""

    id: UUID
    subscription_id: UUID
    event_id: UUID
    event_type: str
    channel: str
    status: str
    payload: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    digest_day: date | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Claim:
    delivery: ClaimedDelivery
    subscription: Subscription
    lease_until: datetime


def _due(now: datetime) -> Any:
    return or_(
        and_(
            col(Delivery.status) == DeliveryStatus.pending,
            col(Delivery.next_attempt_at) <= now,
        ),
        # Claimed by a worker that stopped (killed, cut off) before finishing.
        and_(col(Delivery.status) == DeliveryStatus.sending, col(Delivery.lease_until) < now),
    )


async def claim_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    limit: int,
    lease_seconds: float,
    skip_subscriptions: Collection[UUID] = (),
) -> list[Claim]:
    """Take up to `limit` due deliveries for this worker until their lease runs out, in one
    `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`; several workers share
    the rows (`SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time). Deliveries of
    `skip_subscriptions` (endpoints this worker has enough in flight to already) are left."""
    now = utc_now()
    # Also the claim's mark: a worker whose lease was taken over cannot finish the row.
    lease_until = now + timedelta(seconds=lease_seconds)
    deliveries = table_of(Delivery)
    due = select(col(Delivery.id)).where(_due(now))
    if skip_subscriptions:
        due = due.where(col(Delivery.subscription_id).not_in(list(skip_subscriptions)))
    due = due.order_by(col(Delivery.next_attempt_at)).limit(limit).with_for_update(skip_locked=True)
    async with sessionmaker() as session, session.begin():
        claimed = (
            await session.exec(
                update(deliveries)
                .where(deliveries.c.id.in_(due.scalar_subquery()))
                .values(
                    status=DeliveryStatus.sending,
                    lease_until=lease_until,
                    attempts=deliveries.c.attempts + 1,
                )
                .returning(*deliveries.c)
            )
        ).all()
        if not claimed:
            return []
        owners = {row.subscription_id for row in claimed}
        subscriptions = {
            subscription.id: subscription
            for subscription in (
                await session.exec(
                    select(Subscription).where(col(Subscription.id).in_(list(owners)))
                )
            ).all()
        }
    return [
        Claim(ClaimedDelivery(**row._mapping), subscriptions[row.subscription_id], lease_until)
        for row in sorted(claimed, key=lambda row: row.next_attempt_at)
    ]


async def give_back(
    sessionmaker: async_sessionmaker[AsyncSession], claims: Sequence[Claim]
) -> None:
    """Return claimed deliveries untried: due again as they were, the attempt not counted."""
    deliveries = table_of(Delivery)
    async with sessionmaker() as session, session.begin():
        for lease_until in {claim.lease_until for claim in claims}:
            await session.exec(
                update(deliveries)
                .where(
                    deliveries.c.id.in_(
                        [claim.delivery.id for claim in claims if claim.lease_until == lease_until]
                    ),
                    deliveries.c.status == DeliveryStatus.sending,
                    deliveries.c.lease_until == lease_until,
                )
                .values(
                    status=DeliveryStatus.pending,
                    lease_until=None,
                    attempts=deliveries.c.attempts - 1,
                )
            )


@dataclass(frozen=True, slots=True)
class Finished:
    """What one attempt came to, to be recorded."""

    claim: Claim
    succeeded: bool
    started_at: datetime
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None
    cancelled: bool = False


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    *,
    succeeded: bool,
    started_at: datetime,
    latency_ms: float,
    status_code: int | None = None,
    error: str | None = None,
    response_excerpt: str | None = None,
    policy: RetryPolicy,
    cancelled: bool = False,
) -> str:
    """Record the attempt and what follows from it; the delivery's new status."""
    item = Finished(
        claim, succeeded, started_at, latency_ms, status_code, error, response_excerpt, cancelled
    )
    [status] = await finish_many(sessionmaker, [item], policy=policy)
    return status


async def finish_many(
    sessionmaker: async_sessionmaker[AsyncSession],
    items: Sequence[Finished],
    *,
    policy: RetryPolicy,
) -> list[str]:
    """Record several attempts in one transaction (the worker batches them); each delivery's new
    status, or `sending` where the claim's lease was lost to another worker meanwhile.

    Plain successes (the bulk) are recorded by one UPDATE per claim, the rows whose lease still
    holds coming back from its RETURNING; failures, cancellations and a success that ends a run
    of failures are recorded one by one (they may count towards disabling a webhook)."""
    statuses: dict[int, str] = {}
    async with sessionmaker() as session, session.begin():
        plain: dict[datetime, list[int]] = {}
        for index, item in enumerate(items):
            if _plain_success(item):
                plain.setdefault(item.claim.lease_until, []).append(index)
            else:
                statuses[index] = await _record(session, item, policy)
        for lease_until, indexes in plain.items():
            recorded = await _record_successes(session, [items[i] for i in indexes], lease_until)
            for index in indexes:
                delivery_id = items[index].claim.delivery.id
                statuses[index] = (
                    DeliveryStatus.delivered if delivery_id in recorded else DeliveryStatus.sending
                )
        attempts = [
            _attempt_row(item)
            for index, item in enumerate(items)
            if statuses[index] != DeliveryStatus.sending and not item.cancelled
        ]
        if attempts:
            await session.exec(insert_for(session, table_of(DeliveryAttempt)), params=attempts)
    return [statuses[index] for index in range(len(items))]


def _plain_success(item: Finished) -> bool:
    """A success after a clean record: nothing follows from it but the delivery's status."""
    if not item.succeeded or item.cancelled:
        return False
    claim = item.claim
    return (
        claim.delivery.channel != DeliveryChannel.webhook
        or claim.subscription.webhook_failed_deliveries == 0
    )


async def _record_successes(
    session: AsyncSession, items: Sequence[Finished], lease_until: datetime
) -> set[UUID]:
    """Mark delivered the deliveries of one claim whose lease still holds; their ids."""
    now = utc_now()
    deliveries = table_of(Delivery)
    rows = await session.exec(
        update(deliveries)
        .where(
            deliveries.c.id.in_([item.claim.delivery.id for item in items]),
            deliveries.c.status == DeliveryStatus.sending,
            deliveries.c.lease_until == lease_until,
        )
        .values(
            status=DeliveryStatus.delivered,
            next_attempt_at=now,
            lease_until=None,
            last_error=None,
            delivered_at=now,
        )
        .returning(deliveries.c.id)
    )
    recorded = set(rows.scalars().all())
    for item in items:
        if item.claim.delivery.id not in recorded:
            log.warning("delivery.lease_lost", delivery_id=str(item.claim.delivery.id))
    return recorded


def _attempt_row(item: Finished) -> dict[str, Any]:
    delivery = item.claim.delivery
    return {
        "id": uuid4(),
        "delivery_id": delivery.id,
        "number": delivery.attempts,
        "started_at": item.started_at,
        "latency_ms": item.latency_ms,
        "succeeded": item.succeeded,
        "status_code": item.status_code,
        "error": item.error[:500] if item.error else None,
        "response_excerpt": item.response_excerpt[:1000] if item.response_excerpt else None,
    }


async def _record(session: AsyncSession, item: Finished, policy: RetryPolicy) -> str:
    delivery, subscription = item.claim.delivery, item.claim.subscription
    now = utc_now()
    if item.cancelled:
        status, next_at = DeliveryStatus.cancelled, now
    elif item.succeeded:
        status, next_at = DeliveryStatus.delivered, now
    elif delivery.attempts >= policy.max_attempts:
        status, next_at = DeliveryStatus.failed, now
    else:
        delay = retry_delay(
            delivery.attempts, initial=policy.retry_initial, maximum=policy.retry_max
        )
        status, next_at = DeliveryStatus.pending, now + timedelta(seconds=delay)
    deliveries = table_of(Delivery)
    result = await session.exec(
        update(deliveries)
        .where(
            deliveries.c.id == delivery.id,
            deliveries.c.status == DeliveryStatus.sending,
            deliveries.c.lease_until == item.claim.lease_until,
        )
        .values(
            status=status,
            next_attempt_at=next_at,
            lease_until=None,
            last_error=item.error[:500] if item.error else None,
            delivered_at=now if item.succeeded else None,
        )
    )
    if result.rowcount == 0:
        log.warning("delivery.lease_lost", delivery_id=str(delivery.id))
        return DeliveryStatus.sending
    if status == DeliveryStatus.failed:  # a dead letter: told to whoever subscribed to them
        await dead_letters.delivery_failed(session, delivery, subscription, item.error)
    if delivery.channel == DeliveryChannel.webhook and not item.cancelled:
        await _count_webhook_outcome(session, subscription.id, status, policy.disable_after)
    return status


async def _count_webhook_outcome(
    session: AsyncSession, subscription_id: UUID, status: str, disable_after: int
) -> None:
    if status not in (DeliveryStatus.delivered, DeliveryStatus.failed):
        return
    subscription = await session.get(Subscription, subscription_id, with_for_update=True)
    if subscription is None:
        return
    if status == DeliveryStatus.delivered:
        subscription.webhook_failed_deliveries = 0
        return
    subscription.webhook_failed_deliveries += 1
    if subscription.webhook_failed_deliveries < disable_after or subscription.webhook_disabled_at:
        return
    subscription.webhook_disabled_at = utc_now()
    await session.exec(
        update(Delivery)
        .where(
            col(Delivery.subscription_id) == subscription_id,
            col(Delivery.channel) == DeliveryChannel.webhook,
            col(Delivery.status) == DeliveryStatus.pending,
        )
        .values(status=DeliveryStatus.cancelled)
    )
    log.warning("webhook.disabled", subscription_id=str(subscription_id))
    await notice(
        session,
        subscription,
        f"webhook-disabled:{subscription.webhook_disabled_at.isoformat()}",
        f"The webhook to {subscription.webhook_url} was disabled after "
        f"{subscription.webhook_failed_deliveries} failed deliveries in a row. Fix the receiver, "
        "then enable it again (PATCH the subscription with webhook_enabled=true) and redeliver "
        "what it missed. / Webhook đã bị tắt sau nhiều lần gửi thất bại liên tiếp.",
    )


async def redeliver(session: AsyncSession, delivery: Delivery) -> Delivery:
    """Send a delivery again now, whatever became of it (one more attempt)."""
    delivery.status = DeliveryStatus.pending
    delivery.next_attempt_at = utc_now()
    delivery.lease_until = None
    await session.flush()
    return delivery


# --- daily digests -------------------------------------------------------------------------------

_DIGESTS = uuid5(NAMESPACE_URL, "urn:poverty-review:notifications:digest")


async def schedule_digests(
    sessionmaker: async_sessionmaker[AsyncSession], *, digest_hour: int, now: datetime | None = None
) -> int:
    """One digest delivery per subscription and past day with held e-mails (once: unique key)."""
    now = now or utc_now()
    local = now.astimezone(LOCAL_TIME)
    # Days before today, once the hour has come; the day before yesterday in any case.
    last_day = local.date() - timedelta(days=1 if local.hour >= digest_hour else 2)
    async with sessionmaker() as session, session.begin():
        pairs = (
            await session.exec(
                select(col(Delivery.subscription_id), col(Delivery.digest_day))
                .where(
                    col(Delivery.status) == DeliveryStatus.held,
                    col(Delivery.digest_day) <= last_day,
                )
                .distinct()
            )
        ).all()
        rows = []
        for subscription_id, day in pairs:
            assert day is not None
            event_id = uuid5(_DIGESTS, f"{subscription_id}:{day.isoformat()}")
            rows.append(
                {
                    "id": uuid5(subscription_id, f"{event_id}:{DeliveryChannel.email_digest}"),
                    "subscription_id": subscription_id,
                    "event_id": event_id,
                    "event_type": "digest.daily",
                    "channel": DeliveryChannel.email_digest.value,
                    "status": DeliveryStatus.pending,
                    "payload": json.dumps({"day": day.isoformat()}),
                    "attempts": 0,
                    "next_attempt_at": utc_now(),
                    "lease_until": None,
                    "digest_day": day,
                    "last_error": None,
                    "created_at": now,
                    "delivered_at": None,
                }
            )
        if rows:
            statement = insert_for(session, table_of(Delivery)).on_conflict_do_nothing()
            await session.exec(statement, params=rows)
    return len(rows)


async def held_for_digest(
    sessionmaker: async_sessionmaker[AsyncSession], subscription_id: UUID, day: date
) -> list[Delivery]:
    async with sessionmaker() as session:
        statement = (
            select(Delivery)
            .where(
                col(Delivery.subscription_id) == subscription_id,
                col(Delivery.channel) == DeliveryChannel.email,
                col(Delivery.status) == DeliveryStatus.held,
                col(Delivery.digest_day) == day,
            )
            .order_by(col(Delivery.created_at))
        )
        return list((await session.exec(statement)).all())


async def mark_digested(
    sessionmaker: async_sessionmaker[AsyncSession], ids: Sequence[UUID]
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id).in_(list(ids)), col(Delivery.status) == DeliveryStatus.held)
            .values(status=DeliveryStatus.delivered, delivered_at=utc_now())
        )


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
