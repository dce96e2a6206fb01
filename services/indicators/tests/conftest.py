"""Fixtures for the indicators service: its database on SQLite and, where it runs, PostgreSQL."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp

from indicators.config import Settings
from indicators.main import create_app
from indicators.models import metadata
from kit import testing
from kit.auth import Role
from kit.db import make_engine, make_sessionmaker
from kit.messaging import InProcessBus
from kit.testing import bearer, trusted_test_keys


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The indicators schema on SQLite, then again on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'indicators.db'}"
    else:
        testing.require_infra()
        url = await testing.create_database("indicators_test")
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()
    if request.param == "postgresql":
        await testing.drop_database(url)


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def app(engine: AsyncEngine) -> AsyncIterator[ASGIApp]:
    """The whole indicators app on this test's database, lifespan included."""
    settings = Settings(
        ENVIRONMENT="test", LOG_JSON=False, DATABASE_URL="unused", MESSAGE_BUS="inprocess"
    )
    app = create_app(settings, bus=InProcessBus(), engine=engine, token_keys=trusted_test_keys())
    async with LifespanManager(app) as manager:
        yield manager.app


@pytest.fixture
async def as_role(app: ASGIApp) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients of the app acting as a role over units: `as_role(Role.ADMIN)`."""
    clients: list[httpx.AsyncClient] = []

    def make(role: Role, *units: str) -> httpx.AsyncClient:
        headers = bearer(role, units or None)
        transport = httpx.ASGITransport(app=app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://i", headers=headers))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()
