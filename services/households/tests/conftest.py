"""Fixtures for every households test: its own copy of a database seeded with the whole country's
administrative units, and the service app over it.

Seeding takes about a second, so it happens once per run; every test starts from its own copy of
that file. `Base.metadata` holds the tables of the model modules imported so far; the app's
routers import every model, and collection imports every module before the first fixture runs.
"""

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.types import ASGIApp

from households.config import Settings
from households.db import Base
from households.main import create_app
from households.unit.seed import seed_units
from kit.auth import Role
from kit.db import make_engine, make_sessionmaker
from kit.errors import PROBLEM_JSON
from kit.messaging import InProcessBus
from kit.testing import bearer, trusted_test_keys

STANDARDS = ["VN-2022-2025", "VN-2027-2030"]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("units") / "seeded.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with make_sessionmaker(engine)() as session, session.begin():
        await seed_units(session)
    await engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture
def database_url(seeded_database: Path, tmp_path: Path) -> str:
    """A copy of the seeded database, this test's own."""
    copy = tmp_path / "households.db"
    shutil.copyfile(seeded_database, copy)
    return f"sqlite+aiosqlite:///{copy}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the app's engine. SQLite's engine has one connection: a test that also calls
    the app opens short sessions (`async with sessionmaker() as session:`) between requests."""
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Every field the tests rely on is explicit, so the environment cannot change them.
    return Settings(
        ENVIRONMENT="test",
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
        DATABASE_URL=database_url,
        MESSAGE_BUS="inprocess",
        POVERTY_STANDARDS=STANDARDS,
    )


async def _check_problem(response: httpx.Response) -> None:
    """Every error answer is RFC 9457 problem+json with field errors that name their field."""
    if response.status_code < 400:
        return
    await response.aread()
    assert response.headers["content-type"] == PROBLEM_JSON, response.text
    body = response.json()
    assert body["status"] == response.status_code
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], list)
    assert all(isinstance(error["loc"], list) and error["loc"] for error in body["errors"])
    if response.status_code == 422:
        assert body["errors"], "a 422 names the fields at fault"


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[ASGIApp]:
    """The whole households app on this test's database, lifespan included."""
    app = create_app(settings, bus=InProcessBus(), engine=engine, token_keys=trusted_test_keys())
    async with LifespanManager(app) as manager:
        yield manager.app


def client_for(app: ASGIApp, headers: dict[str, str]) -> httpx.AsyncClient:
    """A client of the app presenting `headers` (e.g. `bearer(Role.ENUMERATOR, ("08707",))`).

    Every error response is checked to be problem+json (`_check_problem`) before the test sees it.
    """
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://households",
        headers=headers,
        event_hooks={"response": [_check_problem]},
    )


@pytest.fixture
async def client_with(app: ASGIApp) -> AsyncIterator[Callable[[dict[str, str]], httpx.AsyncClient]]:
    """Clients of the app presenting the given headers, closed after the test."""
    clients: list[httpx.AsyncClient] = []

    def make(headers: dict[str, str]) -> httpx.AsyncClient:
        clients.append(client_for(app, headers))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def as_role(
    client_with: Callable[[dict[str, str]], httpx.AsyncClient],
) -> Callable[..., httpx.AsyncClient]:
    """Clients acting as a role over units: `as_role(Role.ENUMERATOR, "08764", subject="e-1")`."""

    def make(role: Role, *units: str, subject: str | None = None) -> httpx.AsyncClient:
        return client_with(bearer(role, units or None, subject=subject))

    return make


@pytest.fixture
async def client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """A client acting as a nationwide admin (who may do everything)."""
    async with client_for(app, bearer(Role.ADMIN)) as client:
        yield client
