"""Seeding the whole country takes about a second, so it happens once per run; every test here
starts from its own copy of that database file."""

import shutil
from pathlib import Path

import pytest
import pytest_asyncio

from households.db import Base
from households.unit.seed import seed_units
from kit.db import make_engine, make_sessionmaker


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
    copy = tmp_path / "households.db"
    shutil.copyfile(seeded_database, copy)
    return f"sqlite+aiosqlite:///{copy}"
