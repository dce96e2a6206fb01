"""Each service's (and the gateway's) Alembic migrations build exactly the schema its models
describe."""

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

import gateway.migrate
import gateway.models
import households.migrate
import households.models
import indicators.migrate
import indicators.models
import notifications.migrate
import notifications.models
from kit import testing
from kit.db import make_engine
from kit.migrations import upgrade

SERVICES = {
    "households": (households.migrate, households.models),
    "indicators": (indicators.migrate, indicators.models),
    "notifications": (notifications.migrate, notifications.models),
    "gateway": (gateway.migrate, gateway.models),
}


def differences(connection: Connection, models: ModuleType) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        diff
        for diff in compare_metadata(context, models.metadata)
        if not _is_alembic_bookkeeping(diff)
    ]


def _is_alembic_bookkeeping(diff: Any) -> bool:
    return (
        isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"
    )


async def _schema_differences(url: str, service: str) -> list[Any]:
    migrate, models = SERVICES[service]
    await asyncio.to_thread(upgrade, migrate.MIGRATIONS, url)
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(differences, models)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_models_on_sqlite(service: str, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}"

    assert await _schema_differences(url, service) == []


@pytest.mark.infra
@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_match_the_models_on_postgresql(service: str) -> None:
    testing.require_infra()
    url = await testing.create_database(f"migrations_{service}")
    try:
        assert await _schema_differences(url, service) == []
    finally:
        await testing.drop_database(url)
