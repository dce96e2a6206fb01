"""The notifications service: an in-app inbox per unit, fed by classification changes.

Run with `uvicorn notifications.main:create_app --factory`.
"""

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from kit.auth import KeySource
from kit.messaging import MessageBus
from kit.messaging.topology import NOTIFICATIONS_QUEUE
from kit.service import create_service_app
from notifications.config import Settings
from notifications.db import token_not_before
from notifications.notification.router import router as notification_router


def create_app(
    settings: Settings | None = None,
    *,
    bus: MessageBus | None = None,
    engine: AsyncEngine | None = None,
    token_keys: KeySource | None = None,
) -> FastAPI:
    return create_service_app(
        title="Notifications",
        description="In-app inbox per administrative unit.",
        settings=settings or Settings(),
        routers=[notification_router],
        bus=bus,
        engine=engine,
        token_keys=token_keys,
        token_not_before=token_not_before,
        dead_letter_queue=NOTIFICATIONS_QUEUE,
    )
