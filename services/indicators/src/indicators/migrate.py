"""`python -m indicators.migrate`: bring the database to the newest schema."""

import asyncio
from pathlib import Path

from indicators.config import Settings
from kit.logging import configure_logging
from kit.migrations import upgrade

MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate(settings: Settings) -> None:
    # Alembic's env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.DATABASE_URL)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    asyncio.run(migrate(settings))
