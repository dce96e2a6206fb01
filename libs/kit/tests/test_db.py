"""PostgreSQL pools: no ping on every checkout, yet connections the server dropped are replaced."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from kit.db import SessionDep, make_engine, make_sessionmaker, unavailable
from kit.testing import POSTGRES_URL, create_database, drop_database, require_infra

pytestmark = pytest.mark.infra


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    require_infra()
    url = await create_database("kit_pool")
    yield url
    await drop_database(url)


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        return pid


async def drop_every_connection(url: str) -> None:
    """What a server restart does to the pooled connections: closes them from the far side."""
    name = url.rsplit("/", 1)[-1]
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()


def count_pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    dialect = engine.sync_engine.dialect
    pings: list[object] = []
    ping = dialect.do_ping

    def counted(connection: object) -> bool:
        pings.append(connection)
        return ping(connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


class TestPooledConnections:
    async def test_a_connection_in_steady_use_is_not_pinged(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = make_engine(database_url)
        pings = count_pings(engine, monkeypatch)
        try:
            pids = {await backend_pid(engine) for _ in range(20)}
        finally:
            await engine.dispose()

        assert len(pids) == 1
        assert pings == []

    async def test_a_connection_dropped_while_idle_is_replaced_unseen(
        self, database_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = make_engine(database_url, ping_after_idle_seconds=0.05)
        pings = count_pings(engine, monkeypatch)
        try:
            first = await backend_pid(engine)
            await drop_every_connection(database_url)
            await asyncio.sleep(0.1)
            second = await backend_pid(engine)
        finally:
            await engine.dispose()

        assert second != first
        assert len(pings) == 1

    async def test_after_a_drop_seen_in_use_every_pooled_connection_is_replaced(
        self, database_url: str
    ) -> None:
        engine = make_engine(database_url)
        try:
            # Two connections in the pool, as under load.
            async with engine.connect() as one, engine.connect() as two:
                for connection in (one, two):
                    await connection.execute(text("SELECT 1"))
            await drop_every_connection(database_url)

            # The first request to meet a dropped connection fails (its caller's retry covers
            # it); the pool then starts afresh, so neither the next nor one beside it fails.
            with pytest.raises(DBAPIError) as failure:
                await backend_pid(engine)
            assert failure.value.connection_invalidated
            pids = await asyncio.gather(backend_pid(engine), backend_pid(engine))
        finally:
            await engine.dispose()

        assert all(pid > 0 for pid in pids)


async def _error_of(engine: AsyncEngine, statement: str) -> BaseException:
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except Exception as error:
        return error
    raise AssertionError(f"{statement!r} did not fail")


async def test_a_refused_connection_is_unavailable_and_a_bad_statement_is_not(
    database_url: str,
) -> None:
    closed_port = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    engine = make_engine(database_url)
    try:
        assert unavailable(await _error_of(closed_port, "SELECT 1"))
        assert not unavailable(await _error_of(engine, "SELECT * FROM no_such_table"))
        assert not unavailable(await _error_of(engine, "SELECT 1 / 0"))
    finally:
        await closed_port.dispose()
        await engine.dispose()


async def test_a_connection_terminated_by_the_server_is_unavailable(database_url: str) -> None:
    engine = make_engine(database_url, ping_after_idle_seconds=3600)
    try:
        await backend_pid(engine)  # one pooled connection, not pinged before its next use
        await drop_every_connection(database_url)
        assert unavailable(await _error_of(engine, "SELECT 1"))
    finally:
        await engine.dispose()


class TestSessionPerRequest:
    """A read's statements run without a transaction around them; a write's in one."""

    @staticmethod
    async def transaction_ids(database_url: str, method: str) -> list[int]:
        """The transaction of each of two statements a request of `method` makes."""
        engine = make_engine(database_url)
        app = FastAPI()
        seen: list[int] = []

        @app.api_route("/", methods=["GET", "POST"])
        async def twice(session: SessionDep) -> None:
            for _ in range(2):
                connection = await session.connection()
                result = await connection.execute(text("SELECT txid_current()"))
                seen.append(result.scalar_one())

        @app.middleware("http")
        async def with_sessions(request: Request, call_next: Any) -> Any:
            request.state.sessionmaker = make_sessionmaker(engine)
            return await call_next(request)

        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                assert (await client.request(method, "/")).status_code == 200
        finally:
            await engine.dispose()
        return seen

    async def test_a_read_runs_each_statement_on_its_own(self, database_url: str) -> None:
        first, second = await self.transaction_ids(database_url, "GET")

        assert first != second

    async def test_a_write_is_one_transaction(self, database_url: str) -> None:
        first, second = await self.transaction_ids(database_url, "POST")

        assert first == second
