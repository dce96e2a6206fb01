"""Idempotent event consumption: decode, skip what was processed, handle, commit, then ack.

The processed-message row and the handler's writes commit in one transaction, so a redelivered
message finds its row and is acknowledged without effect. Per-subject ordering (a late, older fact
arriving after a newer one) is the handler's concern: it compares `envelope.sequence`.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import Envelope, Event, UnknownEventType, decode
from kit.db import insert_for, utc_now
from kit.messaging.bus import IncomingMessage, PoisonMessage

log = structlog.get_logger()

HANDLED = Counter("messages_handled_total", "Messages handled", ["consumer", "outcome"])

EventHandler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
"""`handler(session, envelope, event)`: `event` is the envelope's typed data."""


def define_inbox(metadata: MetaData) -> Table:
    """The `processed_message` table in a service's own metadata."""
    return Table(
        "processed_message",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("message_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


async def first_delivery(
    session: AsyncSession, inbox: Table, *, consumer: str, envelope: Envelope
) -> bool:
    """Record the message as processed; False if `consumer` has already processed it."""
    insert = insert_for(session, inbox)
    assert isinstance(insert, postgresql.Insert | sqlite.Insert)  # the dialects with ON CONFLICT
    statement = (
        insert.values(consumer=consumer, message_id=envelope.id, processed_at=utc_now())
        .on_conflict_do_nothing()
        .returning(inbox.c.message_id)
    )
    return (await session.exec(statement)).first() is not None


class EventConsumer:
    """A `MessageHandler` that dispatches typed events to `handlers` exactly once each."""

    def __init__(
        self,
        *,
        name: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        inbox: Table,
        handlers: Mapping[type[Event], EventHandler],
    ) -> None:
        self.name = name
        self._sessionmaker = sessionmaker
        self._inbox = inbox
        self._handlers = {event_class.TYPE: handler for event_class, handler in handlers.items()}

    async def __call__(self, message: IncomingMessage) -> None:
        try:
            envelope = Envelope.model_validate_json(message.body)
            handler = self._handlers.get(envelope.type)
            if handler is None:  # a type this consumer does not act on, valid or not
                HANDLED.labels(self.name, "ignored").inc()
                log.info("message.ignored", consumer=self.name, type=envelope.type)
                return
            event = decode(envelope)
        except (ValidationError, UnknownEventType) as invalid:
            HANDLED.labels(self.name, "poison").inc()
            raise PoisonMessage(f"invalid message: {invalid!s:.500}") from invalid
        with structlog.contextvars.bound_contextvars(
            request_id=envelope.correlation_id, message_id=str(envelope.id)
        ):
            async with self._sessionmaker() as session, session.begin():
                if not await first_delivery(
                    session, self._inbox, consumer=self.name, envelope=envelope
                ):
                    HANDLED.labels(self.name, "duplicate").inc()
                    log.info("message.duplicate_skipped", type=envelope.type)
                    return
                await handler(session, envelope, event)
            HANDLED.labels(self.name, "handled").inc()
