"""Database helpers: engines for PostgreSQL and SQLite, one transaction per request, upserts."""

import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import structlog
from asyncpg import exceptions as asyncpg_errors
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event, exc, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.schema import Table
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    stop_never,
    wait_exponential_jitter,
)

from kit.cache import SESSION_INFO_KEY, ReferenceCache
from kit.metrics import track_engine

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLSTATEs of a server that cannot serve now but may soon: connection exceptions (class 08),
# shutdown or start-up (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now) and
# too many connections. Deadlocks and serialization failures are transient too, but call for a
# retry of the transaction by its owner, not a wait.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


log = structlog.get_logger()


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now (refused, lost, shutting down).

    Such an error is worth waiting for and retrying; any other (a bad statement, a violated
    constraint, a bug) is not, and retrying it would only hide it.
    """
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES
        ):
            return True
        # asyncpg's own InterfaceError is "connection is closed" (and the like): no SQLSTATE.
        if isinstance(cause, OSError | asyncpg_errors.InterfaceError):
            return True
        wrapped = cause.orig if isinstance(cause, exc.DBAPIError) else None
        cause = wrapped or cause.__cause__ or cause.__context__
    return False


def through_outages(
    event: str,
    *,
    max_wait_seconds: float = 30.0,
    give_up_seconds: float | None = None,
    **context: Any,
) -> AsyncRetrying:
    """Retry a call while the database is `unavailable`, with growing jittered waits (each logged
    as `event` with `context`), for at most `give_up_seconds` if given; any other error at once."""

    def logged(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            event,
            **context,
            attempt=state.attempt_number,
            retry_in_seconds=round(state.upcoming_sleep, 1),
            error=str(error),
        )

    return AsyncRetrying(
        retry=retry_if_exception(unavailable),
        wait=wait_exponential_jitter(multiplier=0.2, max=max_wait_seconds),
        stop=stop_never if give_up_seconds is None else stop_after_delay(give_up_seconds),
        before_sleep=logged,
        reraise=True,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive one is read as UTC, as every stored time is (SQLite hands times
    back without their zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone and always read back aware, in UTC.

    PostgreSQL keeps the zone; SQLite keeps text without it, so its values are read as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive timestamp {value!r}: give it a zone")
        # In UTC, like every stored value: SQLite compares the text and drops the zone.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def new_registry() -> registry:
    """A registry of its own per service, so each service's metadata holds only its tables.

    Usage: ``class Base(SQLModel, registry=new_registry()): pass``.
    """
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def make_engine(
    url: str, *, ping_after_idle_seconds: float | None = None, **options: Any
) -> AsyncEngine:
    """An engine for `url`; PostgreSQL pools ping a connection only after it was idle a while.

    Statement parameters are never logged nor put into error messages (`hide_parameters`): they
    hold households' personal data, and SQLAlchemy logs them at LOG_LEVEL=DEBUG."""
    options = {
        "hide_parameters": True,
        "json_serializer": json_text,
        "json_deserializer": orjson.loads,
    } | options
    if url.startswith("sqlite"):
        keep_sqlite_private(url)
        # One connection per engine: SQLite has one writer, and competing connections would wait
        # on its file lock by sleeping, where waiting for the pool wakes at once. Everything of
        # one service in one process shares its engine (see embedded.platform).
        options = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60} | options
        engine = create_async_engine(
            url, connect_args={"timeout": 30, "factory": ClosingConnection}, **options
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    options = {
        "pool_size": 10,
        "max_overflow": 10,
        # An upper bound on a connection's age, whatever happens to it on the way.
        "pool_recycle": 30 * 60,
    } | options
    engine = create_async_engine(url, **options)
    _ping_after_idle(
        engine, IDLE_PING_SECONDS if ping_after_idle_seconds is None else ping_after_idle_seconds
    )
    track_engine(engine)  # its pool's use is reported (kit.metrics)
    return engine


def json_text(value: Any) -> str:
    """A JSON column's value as text, by orjson: the stdlib's encoder took 6–8 % of the importer's
    and the indicators worker's time writing surveys' facts and batch messages of a thousand
    surveys. A pydantic model in the value is serialised by pydantic (`model_dump_json`), as it
    would be in a message: an envelope staged in the outbox is never turned into a dict first.
    Keys that are not strings are written as strings, as `json.dumps` does."""
    return orjson.dumps(value, default=_serialised_model, option=orjson.OPT_NON_STR_KEYS).decode()


def _serialised_model(value: Any) -> orjson.Fragment:
    if isinstance(value, BaseModel):
        return orjson.Fragment(value.model_dump_json())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# A connection back in use within this many seconds is taken as it is: under load that is every
# request, and a ping (three round trips with asyncpg) on each one cost 13% of a simple read.
IDLE_PING_SECONDS = 5.0
_RETURNED_AT = "kit.returned_at"


def _ping_after_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before reuse only when it has been idle for `idle_seconds`.

    That is when a server restart or a firewall may have closed it unseen. A connection that dies
    while in use fails its request with a disconnect error; SQLAlchemy then invalidates the whole
    pool, so the next checkout of every process connects afresh (and the relays' and consumers'
    own retries carry their work over).
    """
    dialect = engine.sync_engine.dialect

    def returned(_: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def checked_out(
        connection: DBAPIConnection, record: ConnectionPoolEntry, _: PoolProxiedConnection
    ) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < idle_seconds:
            return
        try:
            dialect.do_ping(connection)
        except Exception as error:
            # The pool discards this connection and checks out another (a fresh one if need be).
            raise exc.DisconnectionError(f"connection lost while idle: {error!r}") from error

    event.listen(engine.sync_engine, "checkin", returned)
    event.listen(engine.sync_engine, "checkout", checked_out)


def keep_sqlite_private(url: str) -> None:
    """Make the SQLite database file of `url` readable by its owner only: created so when it is
    missing, tightened (with its -wal and -shm) when an earlier run left it open. SQLite creates
    the -wal and -shm files with the database file's mode, so they follow it."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite says what is wrong when it cannot open the file
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is an empty database
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o600)


class ClosingConnection(sqlite3.Connection):
    """A SQLite connection whose `close()` really closes it, even with a statement mid-way.

    Python's `close()` leaves the connection open ("zombie", its transaction and write lock
    kept) while a cursor still holds an unfinished statement, until that cursor is collected.
    A task cancelled during a query leaves exactly that: SQLAlchemy then closes the connection,
    but the cursor lives on in the exception's traceback, and every other writer of the file
    waited out its busy timeout and failed with "database is locked" (seen at Ctrl-C in the
    embedded platform). Closing the connection's cursors first ends their statements, so the
    close rolls back and lets go at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cursors: weakref.WeakSet[sqlite3.Cursor] = weakref.WeakSet()

    # Only the plain cursor is tracked (SQLAlchemy's driver asks for no other kind).
    def cursor(self, factory: None = None) -> sqlite3.Cursor:  # type: ignore[override]
        cursor = super().cursor()
        self._cursors.add(cursor)
        return cursor

    def close(self) -> None:
        for cursor in list(self._cursors):
            cursor.close()
        super().close()


def _sqlite_pragmas(connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    # WAL lets the API read while the relay or a consumer writes; busy_timeout waits for the lock.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(
    engine: AsyncEngine, *, references: ReferenceCache | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; with `references`, they reach that cache of reference data."""
    info = {SESSION_INFO_KEY: references} if references is not None else {}
    # Objects stay readable after commit; response serialisation happens after it.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, info=info)


# Requests that only read: on PostgreSQL their statements run without a transaction around them.
READING_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent.

    A request that changes something is one transaction. A read (GET, HEAD) on PostgreSQL runs
    each statement on its own (autocommit): no BEGIN and COMMIT, two round trips of a request of
    one or two queries. It sees what it saw in a transaction, since under READ COMMITTED each
    statement of a transaction takes a snapshot of its own too. What a read writes (the audit
    entry of a list of personal data) is one INSERT statement, atomic by itself.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    async with sessionmaker() as session, session.begin():
        if request.method in READING_METHODS and is_postgresql(session):
            # Set before the first statement; the pool gives the connection back as it was.
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (for upserts and bulk statements)."""
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def insert_for(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows `ON CONFLICT` for the session's dialect (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"No upsert for dialect {dialect!r}")
