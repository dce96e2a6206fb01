"""Subscriptions: written within the caller's scope, checked against the catalogue at run time."""

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Caller
from kit.contracts import AccessChange, AccessChangedV1
from kit.db import insert_for, table_of, utc_now
from kit.errors import InvalidInput, NotFound
from notifications.delivery import service as delivery_service
from notifications.delivery.models import Delivery, DeliveryAttempt
from notifications.subscription import event_types
from notifications.subscription.models import (
    Channel,
    KnownUnit,
    Status,
    Subscription,
    SubscriptionEventType,
)
from notifications.subscription.schemas import (
    SubscriptionCreate,
    SubscriptionRead,
    SubscriptionUpdate,
    Threshold,
)
from notifications.webhooks import signing
from notifications.webhooks.addresses import ForbiddenURL, IPNetwork, resolve

SUSPENDING_CHANGES = {
    AccessChange.deactivated,
    AccessChange.role_changed,
    AccessChange.units_changed,
    AccessChange.api_key_revoked,
}


def read_model(subscription: Subscription, types: Sequence[str]) -> SubscriptionRead:
    threshold = None
    if subscription.threshold_field is not None:
        threshold = Threshold(
            field=subscription.threshold_field,
            at_least=subscription.threshold_at_least,
            at_most=subscription.threshold_at_most,
        )
    return SubscriptionRead(
        id=subscription.id,
        event_types=sorted(types),
        unit_code=subscription.unit_code,
        channels=subscription.channels,
        digest=subscription.digest,
        threshold=threshold,
        email=subscription.email_address,
        language=subscription.language,
        webhook_url=subscription.webhook_url,
        webhook_enabled=subscription.webhook_url is not None
        and subscription.webhook_disabled_at is None,
        webhook_failed_deliveries=subscription.webhook_failed_deliveries,
        webhook_disabled_at=subscription.webhook_disabled_at,
        status=subscription.status,
        suspended_reason=subscription.suspended_reason,
        description=subscription.description,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


def check_event_types(caller: Caller, requested: Sequence[str]) -> list[str]:
    allowed = event_types.allowed_for(caller)
    unknown = [t for t in requested if t not in allowed]
    if unknown:
        raise InvalidInput.field(
            ["body", "event_types"],
            f"Unknown event type(s) {', '.join(unknown)}; known: {', '.join(allowed)}.",
        )
    return sorted(set(requested))


async def check_unit(session: AsyncSession, caller: Caller, unit_code: str | None) -> None:
    """A subscription never covers more than its owner's scope."""
    if caller.unit_scope is None:
        return
    if unit_code is None:
        raise InvalidInput.field(
            ["body", "unit_code"],
            f"Name one of your units ({', '.join(caller.unit_scope)}) or a unit within them: "
            "your scope is not the whole country.",
        )
    if unit_code in caller.unit_scope:
        return
    known = await session.get(KnownUnit, unit_code)
    if known is None or not caller.may_see(known.path):
        raise NotFound(f"Unit {unit_code} does not exist within your scope.")


async def check_webhook_url(url: str, allowed: Sequence[IPNetwork]) -> None:
    try:
        await resolve(url, allowed)
    except ForbiddenURL as refused:
        raise InvalidInput.field(["body", "webhook_url"], f"Refused: {refused}.") from None


def check_channels(subscription: Subscription) -> None:
    if Channel.email in subscription.channels and not subscription.email_address:
        raise InvalidInput.field(["body", "email"], "The email channel needs an e-mail address.")
    if Channel.webhook in subscription.channels and not subscription.webhook_url:
        raise InvalidInput.field(["body", "webhook_url"], "The webhook channel needs a URL.")


async def create(
    session: AsyncSession, caller: Caller, body: SubscriptionCreate, allowed: Sequence[IPNetwork]
) -> tuple[Subscription, list[str]]:
    types = check_event_types(caller, body.event_types)
    await check_unit(session, caller, body.unit_code)
    if body.webhook_url is not None:
        await check_webhook_url(body.webhook_url, allowed)
    subscription = Subscription(
        owner_subject=caller.subject,
        owner_role=caller.role.value,
        owner_units=list(caller.unit_scope) if caller.unit_scope is not None else None,
        description=body.description,
        unit_code=body.unit_code,
        channels=sorted({channel.value for channel in body.channels}),
        digest=body.digest,
        email_address=str(body.email) if body.email else None,
        language=body.language,
        webhook_url=body.webhook_url,
        webhook_secret=signing.new_secret() if body.webhook_url else None,
        **_threshold_columns(body.threshold),
    )
    check_channels(subscription)
    session.add(subscription)
    await session.flush()
    await _set_types(session, subscription.id, types)
    return subscription, types


def _threshold_columns(threshold: Threshold | None) -> dict[str, Any]:
    return {
        "threshold_field": threshold.field if threshold else None,
        "threshold_at_least": threshold.at_least if threshold else None,
        "threshold_at_most": threshold.at_most if threshold else None,
    }


async def _set_types(session: AsyncSession, subscription_id: UUID, types: Sequence[str]) -> None:
    await session.exec(
        delete(SubscriptionEventType).where(
            col(SubscriptionEventType.subscription_id) == subscription_id
        )
    )
    session.add_all(
        SubscriptionEventType(subscription_id=subscription_id, event_type=t) for t in types
    )
    await session.flush()


async def types_of(session: AsyncSession, subscription_id: UUID) -> list[str]:
    statement = select(SubscriptionEventType.event_type).where(
        col(SubscriptionEventType.subscription_id) == subscription_id
    )
    return list((await session.exec(statement)).all())


async def own(session: AsyncSession, caller: Caller, subscription_id: UUID) -> Subscription:
    """The caller's subscription, or 404 (another's is as if it did not exist)."""
    subscription = await session.get(Subscription, subscription_id)
    if subscription is None or subscription.owner_subject != caller.subject:
        raise NotFound(f"Subscription {subscription_id} does not exist.")
    return subscription


async def list_own(session: AsyncSession, caller: Caller) -> list[tuple[Subscription, list[str]]]:
    statement = (
        select(Subscription)
        .where(col(Subscription.owner_subject) == caller.subject)
        .order_by(col(Subscription.created_at), col(Subscription.id))
    )
    return [(s, await types_of(session, s.id)) for s in (await session.exec(statement)).all()]


async def update(
    session: AsyncSession,
    caller: Caller,
    subscription: Subscription,
    body: SubscriptionUpdate,
    allowed: Sequence[IPNetwork],
) -> list[str]:
    fields = body.model_fields_set
    types = await types_of(session, subscription.id)
    if body.event_types is not None:
        types = check_event_types(caller, body.event_types)
        await _set_types(session, subscription.id, types)
    if body.channels is not None:
        subscription.channels = sorted({channel.value for channel in body.channels})
    if body.digest is not None:
        subscription.digest = body.digest
    if "threshold" in fields:
        for key, value in _threshold_columns(body.threshold).items():
            setattr(subscription, key, value)
    if "email" in fields:
        subscription.email_address = str(body.email) if body.email else None
    if body.language is not None:
        subscription.language = body.language
    if "description" in fields:
        subscription.description = body.description
    if "webhook_url" in fields and body.webhook_url != subscription.webhook_url:
        if body.webhook_url is not None:
            await check_webhook_url(body.webhook_url, allowed)
            subscription.webhook_secret = subscription.webhook_secret or signing.new_secret()
        subscription.webhook_url = body.webhook_url
    if body.webhook_enabled is True:
        subscription.webhook_disabled_at = None
        subscription.webhook_failed_deliveries = 0
    check_channels(subscription)
    _refresh_owner(subscription, caller)
    await session.flush()
    return types


def _refresh_owner(subscription: Subscription, caller: Caller) -> None:
    """The owner's current role and scope, from the token of this request."""
    subscription.owner_role = caller.role.value
    subscription.owner_units = list(caller.unit_scope) if caller.unit_scope is not None else None
    subscription.updated_at = utc_now()


async def resume(session: AsyncSession, caller: Caller, subscription: Subscription) -> None:
    """Deliver again after a change of access, under the caller's access as it is now."""
    types = check_event_types(caller, await types_of(session, subscription.id))
    await _set_types(session, subscription.id, types)
    await check_unit(session, caller, subscription.unit_code)
    _refresh_owner(subscription, caller)
    subscription.status = Status.active
    subscription.suspended_reason = None
    await session.flush()


async def rotate_secret(
    session: AsyncSession, subscription: Subscription, *, overlap_hours: float
) -> Subscription:
    if subscription.webhook_url is None or subscription.webhook_secret is None:
        raise InvalidInput.field(["path", "subscription_id"], "The subscription has no webhook.")
    subscription.webhook_previous_secret = subscription.webhook_secret
    subscription.webhook_previous_secret_until = utc_now() + timedelta(hours=overlap_hours)
    subscription.webhook_secret = signing.new_secret()
    subscription.updated_at = utc_now()
    await session.flush()
    return subscription


async def suspend_for_access_change(session: AsyncSession, event: AccessChangedV1) -> int:
    """A changed role or scope (or a deactivation) stops deliveries until the owner confirms."""
    if event.reason not in SUSPENDING_CHANGES:
        return 0
    statement = select(Subscription).where(
        col(Subscription.owner_subject) == event.token_subject,
        col(Subscription.status) == Status.active,
    )
    subscriptions = (await session.exec(statement)).all()
    for subscription in subscriptions:
        subscription.status = Status.suspended
        subscription.suspended_reason = f"access changed ({event.reason.value})"
        subscription.updated_at = utc_now()
        await delivery_service.notice(
            session,
            subscription,
            f"suspended:{event.not_before.isoformat()}",
            "Your access changed, so this subscription is suspended. Confirm it with "
            f"POST /api/v1/subscriptions/{subscription.id}/resume to receive again within your "
            "new scope. / Quyền truy cập của bạn đã thay đổi: đăng ký tạm dừng.",
        )
    await session.flush()
    return len(subscriptions)


async def remember_units(session: AsyncSession, paths: Iterable[Sequence[str]]) -> None:
    """Record each unit of the `paths` with its ancestors (a unit's path never changes: a map
    reform gives new codes)."""
    units = {
        code: list(path[: i + 1])
        for path in paths
        for i, code in enumerate(path)
        if len(code) in (2, 3, 5)
    }
    rows = [{"code": code, "path": path} for code, path in sorted(units.items())]
    if rows:
        statement = insert_for(session, table_of(KnownUnit)).on_conflict_do_nothing()
        await session.exec(statement, params=rows)


async def deliveries(
    session: AsyncSession, subscription_id: UUID, *, status: str | None, offset: int, limit: int
) -> tuple[Sequence[Delivery], int]:
    statement = select(Delivery).where(col(Delivery.subscription_id) == subscription_id)
    if status is not None:
        statement = statement.where(col(Delivery.status) == status)
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(Delivery.created_at).desc(), col(Delivery.id))
    return (await session.exec(page.offset(offset).limit(limit))).all(), total


async def delivery_of(session: AsyncSession, subscription_id: UUID, delivery_id: UUID) -> Delivery:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound(f"Delivery {delivery_id} does not exist.")
    return delivery


async def attempts_of(session: AsyncSession, delivery_id: UUID) -> Sequence[DeliveryAttempt]:
    statement = (
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id) == delivery_id)
        .order_by(col(DeliveryAttempt.started_at))
    )
    return (await session.exec(statement)).all()
