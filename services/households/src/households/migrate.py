"""`python -m households.migrate`: bring the database to the newest schema and seed the units."""

import asyncio
from pathlib import Path

from households.config import Settings
from households.unit.seed import seed_units
from kit.db import make_engine, make_sessionmaker
from kit.logging import configure_logging
from kit.migrations import upgrade

MIGRATIONS = Path(__file__).parent / "migrations"


async def _seed(settings: Settings) -> int:
    engine = make_engine(settings.DATABASE_URL)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await seed_units(session, special_zone_area=settings.SPECIAL_ZONE_AREA)
    finally:
        await engine.dispose()


async def migrate(settings: Settings) -> int:
    """Upgrade the schema, then load the administrative units if they are missing."""
    # Alembic's env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.DATABASE_URL)
    return await _seed(settings)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    asyncio.run(migrate(settings))
