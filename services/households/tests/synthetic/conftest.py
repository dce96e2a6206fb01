"""Vĩnh Phúc's communes, read from the seeded units the way the CLI and the demo read them."""

from pathlib import Path

import pytest_asyncio

from kit.db import make_engine, make_sessionmaker
from synthetic import Commune, province_communes

VINH_PHUC = "26"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def vinh_phuc(seeded_database: Path) -> list[Commune]:
    engine = make_engine(f"sqlite+aiosqlite:///{seeded_database}")
    try:
        async with make_sessionmaker(engine)() as session:
            return await province_communes(session, VINH_PHUC)
    finally:
        await engine.dispose()
