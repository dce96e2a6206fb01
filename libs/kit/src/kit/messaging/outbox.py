"""Transactional outbox: events are rows committed with the write that caused them.

`stage()` adds the row inside the caller's transaction; `OutboxRelay` publishes committed rows with
publisher confirms and marks them sent. A crash between publish and mark republishes, so delivery
is at-least-once and consumers are idempotent. Several relays may run: rows are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer anyway).
"""

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import structlog
from prometheus_client import Counter
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select  # typed for `AsyncSession.exec`, unlike SQLAlchemy's own
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import Envelope
from kit.db import utc_now
from kit.messaging.bus import MessageBus, OutgoingMessage, PublishFailed

log = structlog.get_logger()

PUBLISHED = Counter("outbox_published_total", "Outbox messages published", ["service"])
PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Failed publish attempts", ["service"])

JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")
POSITION = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only


def define_outbox(metadata: MetaData) -> Table:
    """The `outbox_message` table in a service's own metadata."""
    table = Table(
        "outbox_message",
        metadata,
        Column("position", POSITION, primary_key=True, autoincrement=True),
        Column("id", Uuid, nullable=False, unique=True),
        Column("type", String(200), nullable=False),
        Column("envelope", JSON_DOCUMENT, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
    )
    # The relay's next batch, found without walking past what was published: ordered by the
    # primary key alone, each batch scanned every published row before it (131 ms a batch with
    # 50,000 published, so a backlog of 100,000 drained at half the pace of one of 20,000).
    unpublished = table.c.published_at.is_(None)
    Index(
        UNPUBLISHED_INDEX, table.c.position, postgresql_where=unpublished, sqlite_where=unpublished
    )
    return table


UNPUBLISHED_INDEX = "ix_outbox_message_unpublished"


async def stage(session: AsyncSession, outbox: Table, envelope: Envelope) -> None:
    """Record `envelope` to be published once the current transaction commits."""
    await session.exec(
        outbox.insert().values(
            id=envelope.id,
            type=envelope.type,
            envelope=envelope,  # serialised as it will be published (kit.db.json_text)
            created_at=utc_now(),
        )
    )
    await _notify_on_commit(session)


async def stage_many(session: AsyncSession, outbox: Table, envelopes: Sequence[Envelope]) -> None:
    """`stage()` for several envelopes, with one statement."""
    if not envelopes:
        return
    now = utc_now()
    rows = [
        {
            "id": envelope.id,
            "type": envelope.type,
            "envelope": envelope,
            "created_at": now,
        }
        for envelope in envelopes
    ]
    await session.exec(outbox.insert(), params=rows)
    await _notify_on_commit(session)


async def _notify_on_commit(session: AsyncSession) -> None:
    """On PostgreSQL, wake the relays listening on this database when the transaction commits.

    Once per transaction (PostgreSQL delivers a NOTIFY at commit, and none on rollback).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.sync_session.get_transaction()
    if session.info.get(_NOTIFIED) is transaction:
        return
    await (await session.connection()).exec_driver_sql(f"NOTIFY {CHANNEL}")
    session.info[_NOTIFIED] = transaction


CHANNEL = "outbox_message"  # per database, so per service
_NOTIFIED = "kit.outbox.notified"


async def pending_count(session: AsyncSession, outbox: Table) -> int:
    statement = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    return int((await session.exec(statement)).one())


async def unpublish(session: AsyncSession, outbox: Table, message_ids: Iterable[str]) -> int:
    """Mark these messages unpublished, for the relay to publish them again: what a bus that
    keeps nothing across a stop (the in-process one) had not delivered yet. Consumers skip the
    ones they did handle (inbox)."""
    ids = [UUID(message_id) for message_id in message_ids]
    if not ids:
        return 0
    statement = (
        update(outbox)
        .where(outbox.c.id.in_(ids), outbox.c.published_at.is_not(None))
        .values(published_at=None)
    )
    result = await session.exec(statement)
    return int(result.rowcount)


class OutboxRelay:
    """Publishes a service's committed outbox rows, oldest first, in confirmed batches."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        outbox: Table,
        bus: MessageBus,
        *,
        service: str,
        batch_size: int = 200,
        poll_seconds: float = 0.2,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._outbox = outbox
        self._bus = bus
        self._service = service
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a local commit)."""
        self._wake.set()

    def stop(self) -> None:
        """Make `run()` return after the batch in hand, rather than cancelling it mid-query
        (an app stopping with its engine, whose connections must be back first)."""
        self._stopping = True
        self._wake.set()

    async def relay_once(self) -> int:
        """Publish one batch; the number published. Raises PublishFailed if any was refused."""
        table = self._outbox
        async with self._sessionmaker() as session, session.begin():
            statement = (
                select(table.c.position, table.c.envelope)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.position)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = (await session.exec(statement)).all()
            if not rows:
                return 0
            outcomes = await asyncio.gather(
                *(self._bus.publish(_outgoing(document)) for _, document in rows),
                return_exceptions=True,
            )
            results = [
                (position, outcome) for (position, _), outcome in zip(rows, outcomes, strict=True)
            ]
            sent = [position for position, outcome in results if outcome is None]
            failed = [position for position, outcome in results if outcome is not None]
            if sent:
                await session.exec(
                    update(table).where(table.c.position.in_(sent)).values(published_at=utc_now())
                )
            if failed:
                await session.exec(
                    update(table)
                    .where(table.c.position.in_(failed))
                    .values(attempts=table.c.attempts + 1)
                )
        PUBLISHED.labels(self._service).inc(len(sent))
        if failed:
            PUBLISH_FAILURES.labels(self._service).inc(len(failed))
            first_error = next(o for o in outcomes if o is not None)
            raise PublishFailed(f"{len(failed)} of {len(rows)} not confirmed: {first_error!r}")
        return len(sent)

    async def run(self) -> None:
        """Relay until cancelled or stopped, backing off while the broker refuses messages.

        On PostgreSQL it also listens for writers' notifications, so a commit is published at
        once rather than at the next poll; the poll still finds whatever a lost one leaves.
        """
        listener = asyncio.create_task(self._listen())
        try:
            await self._relay_forever()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _relay_forever(self) -> None:
        backoff = self._poll_seconds
        while not self._stopping:
            self._wake.clear()  # a notification from here on wakes the next sleep
            try:
                published = await self.relay_once()
                backoff = self._poll_seconds
            except PublishFailed as error:
                log.warning("outbox.publish_failed", error=str(error), retry_in=backoff)
                published = 0
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("outbox.relay_error")
                published = 0
                backoff = min(backoff * 2, 5.0)
            if published == self._batch_size:
                continue  # more may be waiting
            if not self._stopping:
                await self._sleep(backoff)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def _listen(self) -> None:
        """`LISTEN` on a connection of the relay's own pool, again after a lost connection."""
        engine = self._sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
            return
        while True:
            try:
                await self._listen_until_lost(engine)
            except Exception as error:  # the poll goes on meanwhile
                log.warning("outbox.listen_failed", error=repr(error))
            await asyncio.sleep(self._poll_seconds * 10)

    async def _listen_until_lost(self, engine: AsyncEngine) -> None:
        lost = asyncio.Event()

        def wake(*_: object) -> None:
            self._wake.set()

        async with engine.connect() as connection:
            raw: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's
            raw.add_termination_listener(lambda _: lost.set())
            await raw.add_listener(CHANNEL, wake)
            try:
                await lost.wait()
            finally:
                if raw.is_closed():
                    await connection.invalidate()
                else:
                    await raw.remove_listener(CHANNEL, wake)


def _outgoing(document: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage.from_envelope(Envelope.model_validate(document))
