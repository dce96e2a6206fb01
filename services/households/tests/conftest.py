"""Fixtures for every households test: its own SQLite database file, with the tables created.

`Base.metadata` holds the tables of the model modules imported so far; test modules import the
models they use, and collection imports every module before the first fixture runs.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import Base
from kit.db import make_engine, make_sessionmaker


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Override in a folder's conftest to start from a prepared database file."""
    return f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session
