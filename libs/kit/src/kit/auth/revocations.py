"""Tokens issued before their subject's access changed are refused: a "not before" per subject.

An access token cannot be recalled, so the gateway announces instead: when it deactivates a user,
changes a user's role, units or password, or revokes an API key, it publishes
`identity.access.changed.v1` with the token subject and the time of the change. Each service
consumes it from a durable queue of its own (`<service>.identity`; its API replicas are competing
consumers, so one of them records it) into its `token_not_before` table, and every process
reloads the table's recent rows every few seconds (`NotBeforeList.run`), so that every replica
refuses the old tokens shortly after the event arrives. The gateway writes its own table in the
transaction of the change. Only changes younger than the longest token lifetime matter: a token
issued before an older one has expired anyway, so older rows are neither loaded nor kept.
"""

import asyncio
import contextlib
from datetime import datetime, timedelta

import structlog
from pydantic import ValidationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, case, delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import AccessChangedV1, Envelope, UnknownEventType, decode
from kit.db import as_utc, insert_for, utc_now
from kit.messaging.bus import IncomingMessage, MessageHandler, PoisonMessage

# The longest an access token lives (ACCESS_TOKEN_MINUTES and API_KEY_TOKEN_SECONDS are capped
# at it): a change older than this concerns no token still valid.
MAX_TOKEN_LIFETIME = timedelta(minutes=15)

log = structlog.get_logger()


def define_token_not_before(metadata: MetaData) -> Table:
    """The `token_not_before` table in a service's own metadata."""
    return Table(
        "token_not_before",
        metadata,
        Column("subject", String(200), primary_key=True),
        Column("not_before", DateTime(timezone=True), nullable=False),
    )


async def record_not_before(
    session: AsyncSession, table: Table, subject: str, not_before: datetime
) -> None:
    """Refuse `subject`'s tokens issued before `not_before` (a later time already kept wins)."""
    insert = insert_for(session, table).values(subject=subject, not_before=not_before)
    later = case(
        (table.c.not_before < insert.excluded.not_before, insert.excluded.not_before),
        else_=table.c.not_before,
    )
    await session.exec(
        insert.on_conflict_do_update(index_elements=[table.c.subject], set_={"not_before": later})
    )
    # Rows no valid token can predate: kept out so the table stays as small as the recent changes.
    await session.exec(delete(table).where(table.c.not_before < utc_now() - MAX_TOKEN_LIFETIME))


def not_before_consumer(
    sessionmaker: async_sessionmaker[AsyncSession], table: Table
) -> MessageHandler:
    """Records each `identity.access.changed.v1` in `table`; idempotent (the later time wins)."""

    async def handle(message: IncomingMessage) -> None:
        try:
            event = decode(Envelope.model_validate_json(message.body))
        except (ValidationError, UnknownEventType) as error:
            raise PoisonMessage(f"not an identity event: {error}") from error
        if not isinstance(event, AccessChangedV1):
            raise PoisonMessage(f"not an identity event: {type(event).__name__}")
        async with sessionmaker() as session, session.begin():
            await record_not_before(session, table, event.token_subject, event.not_before)
        log.info("identity.access_changed", subject=event.token_subject, reason=event.reason)

    return handle


class NotBeforeList:
    """The recent rows of a `token_not_before` table, in memory; what `TokenVerifier` asks."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        table: Table,
        *,
        poll_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._table = table
        self._poll_seconds = poll_seconds
        self._times: dict[str, float] = {}
        self._stopping = asyncio.Event()

    def not_before(self, subject: str) -> float | None:
        """Seconds since the epoch before which `subject`'s tokens are refused, if any."""
        return self._times.get(subject)

    async def reload(self) -> None:
        since = utc_now() - MAX_TOKEN_LIFETIME
        statement = select(self._table.c.subject, self._table.c.not_before).where(
            self._table.c.not_before >= since
        )
        async with self._sessionmaker() as session:
            rows = (await session.exec(statement)).all()
        self._times = {subject: as_utc(moment).timestamp() for subject, moment in rows}

    async def run(self) -> None:
        """Reload every `poll_seconds` until `stop()`; a failed reload keeps what was loaded."""
        while not self._stopping.is_set():
            try:
                await self.reload()
            except Exception as error:  # the database may be down for a while: keep trying
                log.warning("identity.not_before_reload_failed", error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)

    def stop(self) -> None:
        """Make `run()` return after the reload in hand, rather than cancelling it mid-query."""
        self._stopping.set()
