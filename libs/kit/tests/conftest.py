"""Fixtures shared by the kit tests: databases with the outbox and inbox tables, and polling.

SQLite runs everywhere. PostgreSQL and RabbitMQ are the real servers: tests that need them call
`require_infra()`, so they are skipped where the servers are absent (and fail when `CI` is set).
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pytest
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.db import make_engine, make_sessionmaker
from kit.messaging import define_inbox, define_outbox
from kit.testing import (
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    require_infra,
)

Condition: TypeAlias = Callable[[], bool] | Callable[[], Awaitable[bool]]
Eventually: TypeAlias = Callable[..., Awaitable[None]]


async def wait_until(condition: Condition, *, within: float = 10.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail the test if it does not `within` that many seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        outcome = condition()
        if not isinstance(outcome, bool):
            outcome = await outcome
        if outcome:
            return
        if loop.time() > deadline:
            pytest.fail(f"not true within {within} s: {what or condition}")
        await asyncio.sleep(0.01)


@pytest.fixture
def eventually() -> Eventually:
    """`await eventually(lambda: ..., within=…)`: wait for a condition, polling with a deadline."""
    return wait_until


@dataclass
class Database:
    """One database holding a service's `outbox_message` and `processed_message` tables."""

    dialect: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    outbox: Table
    inbox: Table


async def _database(url: str, dialect: str) -> Database:
    metadata = MetaData()
    outbox = define_outbox(metadata)
    inbox = define_inbox(metadata)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return Database(dialect, engine, make_sessionmaker(engine), outbox, inbox)


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _database(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}", "sqlite")
    yield database
    await database.engine.dispose()


@pytest.fixture
async def postgresql_database() -> AsyncIterator[Database]:
    require_infra()
    url = await create_database("kit_test")
    try:
        database = await _database(url, "postgresql")
        yield database
        await database.engine.dispose()
    finally:
        await drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.infra)])
def database(request: pytest.FixtureRequest) -> Database:
    """The same tables on SQLite (a file under tmp_path) and on a fresh PostgreSQL database."""
    fixture = f"{request.param}_database"
    value: Database = request.getfixturevalue(fixture)
    return value


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """An AMQP URL on a virtual host of this test run's own, shared by every RabbitMQ test.

    Tests keep out of each other's way by naming their queues and routing keys uniquely.
    """
    require_infra()
    url = create_vhost()
    yield url
    delete_vhost(url)
