from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request

from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES
from kit.fields import Offset
from notifications.config import Settings
from notifications.delivery import service as delivery_service
from notifications.delivery.models import DeliveryStatus
from notifications.subscription import service as subscription_service
from notifications.subscription.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryList,
    DeliveryRead,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionRead,
    SubscriptionUpdate,
)
from notifications.webhooks.addresses import IPNetwork, networks

router = APIRouter(
    prefix="/api/v1/subscriptions", tags=["subscriptions"], responses=PROBLEM_RESPONSES
)
Subscriber = Annotated[Caller, requires(Permission.SUBSCRIPTIONS_MANAGE)]
SubscriptionId = Annotated[
    UUID, Path(description="One of your subscriptions' ids (`GET /api/v1/subscriptions`).")
]
DeliveryId = Annotated[
    UUID, Path(description="The delivery's id (`GET …/{subscription_id}/deliveries`).")
]


def _settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def _allowed(request: Request) -> list[IPNetwork]:
    return networks(_settings(request).WEBHOOK_ALLOWED_NETWORKS)


@router.post("", response_model=SubscriptionCreated, status_code=201)
async def create_subscription(
    caller: Subscriber, body: SubscriptionCreate, session: SessionDep, request: Request
) -> SubscriptionCreated:
    """Subscribe to events over a unit subtree within your scope.

    Event types come from the catalogue as it is at run time (`docs/events.md`) or the review
    calendar's reminders (`reminder.*`); an unknown type is refused with the list of known ones.
    Channels: `inbox` (your own inbox, `GET /api/v1/inbox`), `email` (immediately or as a daily
    digest) and `webhook` (signed per Standard Webhooks). The webhook's signing secret is in
    this answer and never again; rotate it with `POST …/{id}/secret`."""
    subscription, types = await subscription_service.create(
        session, caller, body, _allowed(request)
    )
    read = subscription_service.read_model(subscription, types)
    return SubscriptionCreated(**read.model_dump(), webhook_secret=subscription.webhook_secret)


@router.get("", response_model=SubscriptionList)
async def list_subscriptions(caller: Subscriber, session: SessionDep) -> SubscriptionList:
    """Your subscriptions, oldest first."""
    items = await subscription_service.list_own(session, caller)
    return SubscriptionList(items=[subscription_service.read_model(s, types) for s, types in items])


@router.get("/{subscription_id}", response_model=SubscriptionRead)
async def get_subscription(
    caller: Subscriber, subscription_id: SubscriptionId, session: SessionDep
) -> SubscriptionRead:
    """One of your subscriptions (never its webhook secret)."""
    subscription = await subscription_service.own(session, caller, subscription_id)
    types = await subscription_service.types_of(session, subscription.id)
    return subscription_service.read_model(subscription, types)


@router.patch("/{subscription_id}", response_model=SubscriptionRead)
async def update_subscription(
    caller: Subscriber,
    subscription_id: SubscriptionId,
    body: SubscriptionUpdate,
    session: SessionDep,
    request: Request,
) -> SubscriptionRead:
    """Change a subscription: types, channels, digest, threshold, address, language, URL;
    `webhook_enabled: true` enables a webhook disabled after repeated failures."""
    subscription = await subscription_service.own(session, caller, subscription_id)
    types = await subscription_service.update(
        session, caller, subscription, body, _allowed(request)
    )
    return subscription_service.read_model(subscription, types)


@router.delete("/{subscription_id}", status_code=204)
async def delete_subscription(
    caller: Subscriber, subscription_id: SubscriptionId, session: SessionDep
) -> None:
    """Unsubscribe: the subscription, its pending deliveries and their log go."""
    subscription = await subscription_service.own(session, caller, subscription_id)
    await session.delete(subscription)
    await session.flush()


@router.post("/{subscription_id}/resume", response_model=SubscriptionRead)
async def resume_subscription(
    caller: Subscriber, subscription_id: SubscriptionId, session: SessionDep
) -> SubscriptionRead:
    """Deliver again after a change of your access suspended the subscription: it takes your
    role and scope as they are now (422 or 404 when its unit lies outside them)."""
    subscription = await subscription_service.own(session, caller, subscription_id)
    await subscription_service.resume(session, caller, subscription)
    types = await subscription_service.types_of(session, subscription.id)
    return subscription_service.read_model(subscription, types)


@router.post("/{subscription_id}/secret", response_model=SecretRotated)
async def rotate_webhook_secret(
    caller: Subscriber, subscription_id: SubscriptionId, session: SessionDep, request: Request
) -> SecretRotated:
    """A new webhook signing secret, shown once. The old one keeps signing too (a second
    signature in `webhook-signature`) for WEBHOOK_SECRET_OVERLAP_HOURS, so receivers can switch
    without losing a delivery."""
    subscription = await subscription_service.own(session, caller, subscription_id)
    await subscription_service.rotate_secret(
        session, subscription, overlap_hours=_settings(request).WEBHOOK_SECRET_OVERLAP_HOURS
    )
    assert subscription.webhook_secret is not None
    assert subscription.webhook_previous_secret_until is not None
    return SecretRotated(
        webhook_secret=subscription.webhook_secret,
        previous_secret_valid_until=subscription.webhook_previous_secret_until,
    )


@router.get("/{subscription_id}/deliveries", response_model=DeliveryList)
async def list_deliveries(
    caller: Subscriber,
    subscription_id: SubscriptionId,
    session: SessionDep,
    status: Annotated[
        DeliveryStatus | None, Query(description="Only the deliveries in this state.")
    ] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryList:
    """The webhook and e-mail deliveries of a subscription, newest first."""
    await subscription_service.own(session, caller, subscription_id)
    items, total = await subscription_service.deliveries(
        session, subscription_id, status=status, offset=offset, limit=limit
    )
    return DeliveryList(
        items=[DeliveryRead.model_validate(d, from_attributes=True) for d in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/{subscription_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    caller: Subscriber,
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    session: SessionDep,
) -> DeliveryDetail:
    """One delivery with its log: each attempt's status code, latency and the start of the
    receiver's answer (secrets removed)."""
    await subscription_service.own(session, caller, subscription_id)
    delivery = await subscription_service.delivery_of(session, subscription_id, delivery_id)
    attempts = await subscription_service.attempts_of(session, delivery.id)
    return _detail(delivery, attempts)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryDetail,
    status_code=202,
)
async def redeliver(
    caller: Subscriber,
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    session: SessionDep,
) -> DeliveryDetail:
    """Send a delivery again now (once more, with the same `webhook-id`)."""
    await subscription_service.own(session, caller, subscription_id)
    delivery = await subscription_service.delivery_of(session, subscription_id, delivery_id)
    await delivery_service.redeliver(session, delivery)
    return _detail(delivery, await subscription_service.attempts_of(session, delivery.id))


def _detail(delivery: Any, attempts: Any) -> DeliveryDetail:
    read = DeliveryRead.model_validate(delivery, from_attributes=True)
    return DeliveryDetail(
        **read.model_dump(),
        attempts_log=[AttemptRead.model_validate(a, from_attributes=True) for a in attempts],
    )
