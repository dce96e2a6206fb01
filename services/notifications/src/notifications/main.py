"""The notifications service: subscriptions to any event over a unit subtree, delivered to
personal inboxes, signed webhooks and e-mail; review-calendar reminders; the unit inbox.

Run with `uvicorn notifications.main:create_app --factory`.
"""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from kit.auth import KeySource
from kit.messaging import MessageBus
from kit.messaging.topology import NOTIFICATIONS_QUEUE
from kit.service import create_service_app
from notifications.config import Settings
from notifications.db import idempotency_keys, token_not_before
from notifications.email.router import router as unsubscribe_router
from notifications.inbox.router import router as inbox_router
from notifications.notification.router import router as notification_router
from notifications.subscription.router import router as subscription_router


def create_app(
    settings: Settings | None = None,
    *,
    bus: MessageBus | None = None,
    engine: AsyncEngine | None = None,
    token_keys: KeySource | None = None,
) -> FastAPI:
    return create_service_app(
        title="Notifications",
        description="Subscriptions (events × unit subtree × channels), personal inboxes, signed "
        "webhooks, e-mail and review-calendar reminders; the unit inbox for officers.",
        settings=settings or Settings(),
        routers=[notification_router, subscription_router, inbox_router, unsubscribe_router],
        bus=bus,
        engine=engine,
        token_keys=token_keys,
        token_not_before=token_not_before,
        idempotency_keys=idempotency_keys,
        dead_letter_queue=NOTIFICATIONS_QUEUE,
    )
