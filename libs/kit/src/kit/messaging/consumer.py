"""Idempotent event consumption: decode, skip what was processed, handle, commit, then ack.

Messages come in batches (`handle_batch`, a `BatchHandler`): every message that decodes is
recorded in `processed_message` with one statement, and the handlers' writes for the whole batch
commit in the same transaction, so a redelivered message finds its row and is acknowledged without
effect. A message that cannot be decoded is dead-lettered on its own before the transaction
starts. If the batch's transaction fails (a poison message found by a handler, a deadlock), it is
rolled back and its messages are handled again one by one, each in a transaction of its own, so
only the culprit is dead-lettered or requeued. A database that cannot be reached (a restart, a lost
connection) is no fault of the messages: the transaction is retried with growing waits, holding the
batch unacknowledged, for up to `outage_seconds`, so that an outage does not spend the messages'
delivery limit and dead-letter valid events.

Per-subject ordering (a late, older fact arriving after a newer one) is the handlers' concern: they
compare `envelope.sequence`. A batch handler sees its events in delivery order and must give the
effect of handling them one by one in that order.
"""

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import Envelope, Event, UnknownEventType, decode
from kit.db import insert_for, through_outages, utc_now
from kit.messaging.bus import IncomingMessage, Outcome, PoisonMessage
from kit.metrics import record_applied

log = structlog.get_logger()

HANDLED = Counter("messages_handled_total", "Messages handled", ["consumer", "outcome"])

EventHandler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
"""`handler(session, envelope, event)`: `event` is the envelope's typed data."""

BatchEventHandler = Callable[[AsyncSession, Sequence[tuple[Envelope, Any]]], Awaitable[None]]
"""`handler(session, [(envelope, event), …])`: the batch's events of one type, in delivery order."""


def define_inbox(metadata: MetaData) -> Table:
    """The `processed_message` table in a service's own metadata."""
    return Table(
        "processed_message",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("message_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


async def first_deliveries(
    session: AsyncSession, inbox: Table, *, consumer: str, envelopes: Sequence[Envelope]
) -> set[Any]:
    """Record the messages as processed; the ids of those `consumer` had not processed yet."""
    insert = insert_for(session, inbox)
    assert isinstance(insert, postgresql.Insert | sqlite.Insert)  # the dialects with ON CONFLICT
    statement = insert.on_conflict_do_nothing().returning(inbox.c.message_id)
    now = utc_now()
    rows = [
        {"consumer": consumer, "message_id": envelope.id, "processed_at": now}
        for envelope in envelopes
    ]
    return set((await session.exec(statement, params=rows)).scalars())


@dataclass(frozen=True, slots=True)
class _Decoded:
    position: int  # in the batch
    envelope: Envelope
    event: Event | None  # None: a forwarded type's, not validated


# The messages one transaction applies, at most (and at least one message): a few hundred single
# events, or one or two batch messages of an import's thousand surveys. A delivery of hundreds of
# batch messages would otherwise be hundreds of thousands of surveys held in one transaction.
TRANSACTION_BYTES = 4 * 1024 * 1024


def _transactions(sizes: Sequence[int], limit: int) -> list[range]:
    """Positions of messages of these sizes, in order, in consecutive groups of at most `limit`
    bytes (or one message)."""
    groups: list[range] = []
    start, size = 0, 0
    for position, bytes_ in enumerate(sizes):
        if position > start and size + bytes_ > limit:
            groups.append(range(start, position))
            start, size = position, 0
        size += bytes_
    if sizes:
        groups.append(range(start, len(sizes)))
    return groups


class EventConsumer:
    """A `BatchHandler` (and a `MessageHandler`) that applies typed events exactly once each.

    `handlers` take one event at a time; `batch_handlers` take all the batch's events of their
    type at once, and a batch handler registered for several types (a single event and its batch
    message) takes the events of all of them at once, in delivery order. Both run in the batch's
    one transaction (of at most `transaction_bytes` of messages: a larger batch is applied in
    several, in order).

    Every message's envelope is validated. So is its data, into the typed event, except for the
    `forwarded` types: a consumer that passes their data on as it came (the notifications
    service's fan-out) gets `None` for their event. Validating a batch message of a thousand
    surveys it never reads took half of that worker's time.
    """

    def __init__(
        self,
        *,
        name: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        inbox: Table,
        handlers: Mapping[type[Event], EventHandler] | None = None,
        batch_handlers: Mapping[type[Event], BatchEventHandler] | None = None,
        forwarded: Collection[type[Event]] = (),
        outage_seconds: float = 900.0,
        transaction_bytes: int = TRANSACTION_BYTES,
    ) -> None:
        self.name = name
        self._forwarded = {event.TYPE for event in forwarded}
        self._transaction_bytes = transaction_bytes
        self._sessionmaker = sessionmaker
        self._inbox = inbox
        self._handlers = {event.TYPE: handler for event, handler in (handlers or {}).items()}
        self._batch_handlers = {
            event.TYPE: handler for event, handler in (batch_handlers or {}).items()
        }
        # Below RabbitMQ's consumer timeout (30 min), which would close the channel meanwhile.
        self._through_outages = through_outages(
            "messages.database_unavailable", give_up_seconds=outage_seconds, consumer=name
        )

    async def __call__(self, message: IncomingMessage) -> None:
        """Handle one message; raise what `handle_batch` would give as its outcome."""
        [outcome] = await self.handle_batch([message])
        if outcome is not None:
            raise outcome

    async def handle_batch(self, messages: Sequence[IncomingMessage]) -> list[Outcome]:
        outcomes: list[Outcome] = [None] * len(messages)
        seen: set[Any] = set()
        # Decoded a transaction at a time: what is held in memory is what is being applied.
        sizes = [len(message.body) for message in messages]
        for group in _transactions(sizes, self._transaction_bytes):
            decoded: list[_Decoded] = []
            for position in group:
                try:
                    item = self._decode(position, messages[position])
                except PoisonMessage as poison:
                    outcomes[position] = poison
                    continue
                if item is None:
                    continue
                if item.envelope.id in seen:  # published twice, delivered in one batch
                    HANDLED.labels(self.name, "duplicate").inc()
                    continue
                seen.add(item.envelope.id)
                decoded.append(item)
            if decoded:
                await self._apply(decoded, outcomes)
        return outcomes

    async def _apply(self, items: list[_Decoded], outcomes: list[Outcome]) -> None:
        """Apply the items in one transaction; if that fails, each on its own, so that only the
        culprit fails."""
        try:
            await self._through_outages(self._in_one_transaction, items)
        except Exception as error:
            if len(items) == 1:
                HANDLED.labels(self.name, "failed").inc()
                outcomes[items[0].position] = error
                return
            log.warning("messages.batch_failed", consumer=self.name, size=len(items))
            for item in items:
                try:
                    await self._through_outages(self._in_one_transaction, [item])
                except Exception as single_error:
                    HANDLED.labels(self.name, "failed").inc()
                    outcomes[item.position] = single_error

    def _decode(self, position: int, message: IncomingMessage) -> _Decoded | None:
        try:
            envelope = Envelope.model_validate_json(message.body)
            if envelope.type not in self._handlers and envelope.type not in self._batch_handlers:
                # A type this consumer does not act on, valid or not.
                HANDLED.labels(self.name, "ignored").inc()
                log.info("message.ignored", consumer=self.name, type=envelope.type)
                return None
            event = None if envelope.type in self._forwarded else decode(envelope)
            return _Decoded(position, envelope, event)
        except (ValidationError, UnknownEventType) as invalid:
            HANDLED.labels(self.name, "poison").inc()
            raise PoisonMessage(f"invalid message: {invalid!s:.500}") from invalid

    async def _in_one_transaction(self, items: Sequence[_Decoded]) -> None:
        async with self._sessionmaker() as session, session.begin():
            fresh = await first_deliveries(
                session, self._inbox, consumer=self.name, envelopes=[i.envelope for i in items]
            )
            # By handler: one registered for several types gets their events together.
            batches: dict[BatchEventHandler, list[tuple[Envelope, Any]]] = {}
            for item in items:
                envelope = item.envelope
                if envelope.id not in fresh:
                    HANDLED.labels(self.name, "duplicate").inc()
                    log.info(
                        "message.duplicate_skipped",
                        type=envelope.type,
                        message_id=str(envelope.id),
                        request_id=envelope.correlation_id,
                    )
                    continue
                handler = self._handlers.get(envelope.type)
                if handler is None:
                    batch_handler = self._batch_handlers[envelope.type]
                    batches.setdefault(batch_handler, []).append((envelope, item.event))
                    continue
                with structlog.contextvars.bound_contextvars(
                    request_id=envelope.correlation_id, message_id=str(envelope.id)
                ):
                    await handler(session, envelope, item.event)
            for batch_handler, events in batches.items():
                await batch_handler(session, events)
        HANDLED.labels(self.name, "handled").inc(len(fresh))
        record_applied(self.name, (i.envelope.occurred_at for i in items if i.envelope.id in fresh))
