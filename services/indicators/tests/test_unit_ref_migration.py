"""Migration 3e8a6c1f4b27 rebuilds `unit_ref` per round from the paths the classifications and
population copies were counted on, so a database of the code-keyed table gets each round's map."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from alembic import command

from indicators.migrate import MIGRATIONS
from kit import testing
from kit.db import make_engine
from kit.migrations import alembic_config

BEFORE, AFTER = "9f1d3b7c2e60", "3e8a6c1f4b27"
OLD = UUID("00000000-0000-4000-8000-0000000003a4")
NEW = UUID("00000000-0000-4000-8000-0000000003a6")

classification = sa.table(
    "household_classification",
    *(
        sa.column(name, kind)
        for name, kind in [
            ("assessment_id", sa.Uuid()),
            ("household_id", sa.Uuid()),
            ("household_code", sa.String()),
            ("round_id", sa.Uuid()),
            ("standard_id", sa.String()),
            ("province_code", sa.String()),
            ("district_code", sa.String()),
            ("commune_code", sa.String()),
            ("unit_path", sa.JSON()),
            ("area", sa.String()),
            ("persons", sa.Integer()),
            ("household_class", sa.String()),
            ("deprivation_count", sa.Integer()),
            ("result", sa.JSON()),
            ("revision", sa.Integer()),
            ("classified_at", sa.DateTime(timezone=True)),
        ]
    ),
)
population = sa.table(
    "population_copy",
    sa.column("round_id", sa.Uuid()),
    sa.column("unit_code", sa.String()),
    sa.column("sequence", sa.Integer()),
    sa.column("facts", sa.JSON()),
)
code_keyed = sa.table(
    "unit_ref", sa.column("unit_code"), sa.column("level"), sa.column("parent_code")
)


def _classified(round_id: UUID, path: list[str]) -> dict[str, Any]:
    return {
        "assessment_id": uuid4(),
        "household_id": uuid4(),
        "household_code": f"H-{uuid4()}",
        "round_id": round_id,
        "standard_id": "VN-2022-2025",
        "province_code": path[0],
        "district_code": path[1] if len(path) == 3 else "",
        "commune_code": path[-1],
        "unit_path": path,
        "area": "rural",
        "persons": 2,
        "household_class": "not_poor",
        "deprivation_count": 0,
        "result": {},
        "revision": 1,
        "classified_at": datetime.now(UTC),
    }


async def _run(url: str, *statements: Any) -> list[Any]:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            return [await connection.execute(statement) for statement in statements]
    finally:
        await engine.dispose()


async def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(sa.text(query))).all()]
    finally:
        await engine.dispose()


async def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = alembic_config(MIGRATIONS, url)
    move = command.downgrade if down else command.upgrade
    await asyncio.to_thread(move, config, revision)


async def _migrated_from_the_code_keyed_table(url: str) -> None:
    await _migrate(url, BEFORE)
    await _run(
        url,
        sa.insert(classification).values(
            [
                _classified(OLD, ["26", "243", "08707"]),
                _classified(OLD, ["26", "243", "08707"]),
                _classified(NEW, ["25", "08707"]),
            ]
        ),
        sa.insert(population).values(
            [
                {
                    "round_id": NEW,
                    "unit_code": "08710",
                    "sequence": 1,
                    "facts": {"round_id": str(NEW), "unit_path": ["25", "08710"]},
                }
            ]
        ),
        # What the code-keyed table learned: the 2024 parents, first.
        sa.insert(code_keyed).values(
            [
                {"unit_code": "26", "level": "province", "parent_code": None},
                {"unit_code": "243", "level": "district", "parent_code": "26"},
                {"unit_code": "08707", "level": "commune", "parent_code": "243"},
                {"unit_code": "25", "level": "province", "parent_code": None},
                {"unit_code": "08710", "level": "commune", "parent_code": "25"},
            ]
        ),
    )

    await _migrate(url, AFTER)

    query = "SELECT round_id, unit_code, level, parent_code FROM unit_ref"
    rebuilt = {
        (UUID(str(r)), code, level, parent) for r, code, level, parent in await _rows(url, query)
    }
    assert rebuilt == {
        (OLD, "26", "province", None),
        (OLD, "243", "district", "26"),
        (OLD, "08707", "commune", "243"),
        (NEW, "25", "province", None),
        (NEW, "08707", "commune", "25"),
        (NEW, "08710", "commune", "25"),
    }

    await _migrate(url, BEFORE, down=True)

    query = "SELECT unit_code, level, parent_code FROM unit_ref"
    assert {code: (level, parent) for code, level, parent in await _rows(url, query)} == {
        "26": ("province", None),
        "243": ("district", "26"),
        "08707": ("commune", "243"),  # one parent per code again: the lowest round's
        "25": ("province", None),
        "08710": ("commune", "25"),
    }


async def test_the_rebuild_on_sqlite(tmp_path: Path) -> None:
    await _migrated_from_the_code_keyed_table(f"sqlite+aiosqlite:///{tmp_path / 'i.db'}")


@pytest.mark.infra
async def test_the_rebuild_on_postgresql() -> None:
    testing.require_infra()
    url = await testing.create_database("unit_ref_migration")
    try:
        await _migrated_from_the_code_keyed_table(url)
    finally:
        await testing.drop_database(url)
