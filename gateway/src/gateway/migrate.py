"""`python -m gateway.migrate`: bring the identity database to the newest schema, create the
signing key if it is missing, and make the configured first admin when no active admin exists."""

import asyncio
from pathlib import Path

import structlog

from gateway.auth.issuer import load_signing_key
from gateway.config import Settings
from gateway.users import service as user_service
from kit.db import make_engine, make_sessionmaker
from kit.logging import configure_logging
from kit.migrations import upgrade

MIGRATIONS = Path(__file__).parent / "migrations"
log = structlog.get_logger()


async def ensure_first_admin(settings: Settings) -> bool:
    """Apply FIRST_ADMIN_USERNAME / FIRST_ADMIN_PASSWORD; whether an admin was made."""
    if settings.FIRST_ADMIN_USERNAME is None or settings.FIRST_ADMIN_PASSWORD is None:
        return False
    engine = make_engine(settings.DATABASE_URL)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            made = await user_service.ensure_admin(
                session,
                settings.FIRST_ADMIN_USERNAME,
                settings.FIRST_ADMIN_PASSWORD.get_secret_value(),
            )
    finally:
        await engine.dispose()
    if made is not None:
        log.info("identity.first_admin_created", username=made.username)
    return made is not None


async def migrate(settings: Settings) -> None:
    # Alembic's env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade, MIGRATIONS, settings.DATABASE_URL)
    await asyncio.to_thread(load_signing_key, settings.SIGNING_KEY_FILE)
    await ensure_first_admin(settings)


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    asyncio.run(migrate(settings))
