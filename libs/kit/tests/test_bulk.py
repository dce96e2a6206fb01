"""`kit.bulk.insert_rows`: rows written by COPY (PostgreSQL) read back exactly as rows INSERTed,
in the session's transaction."""

import enum
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import JSON, Column, Enum, Integer, MetaData, String, Table, Uuid, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from kit import bulk
from kit.db import UtcDateTime, make_engine
from kit.testing import create_database, drop_database, require_infra


class Colour(enum.StrEnum):
    red = "rouge"
    green = "vert"


metadata = MetaData()
things = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Uuid, nullable=False),
    Column("colour", Enum(Colour), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("note", String(20)),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.infra)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}"
    else:
        require_infra()
        url = await create_database("kit_bulk")
    the_engine = make_engine(url)
    async with the_engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield the_engine
    await the_engine.dispose()
    if request.param == "postgresql":
        await drop_database(url)


def rows(n: int) -> list[dict[str, object]]:
    hanoi = timezone(timedelta(hours=7))
    return [
        {
            "key": uuid4(),
            "colour": Colour.green if i % 2 else Colour.red,
            "facts": {"members": [{"n": i, "name": "Nguyễn Thị Ánh"}], "ok": None},
            "at": datetime(2026, 12, 4, 8, 30, i % 60, tzinfo=hanoi),
            "note": None if i % 3 else f"row {i}",
        }
        for i in range(n)
    ]


async def stored(engine: AsyncEngine) -> dict[UUID, dict[str, object]]:
    async with AsyncSession(engine) as session:
        found = (await session.exec(select(things).order_by(things.c.id))).all()  # type: ignore[call-overload]
    return {row.key: dict(row._mapping) for row in found}


@pytest.mark.parametrize("n", [3, bulk.COPY_MIN_ROWS + 7], ids=["insert", "copy"])
async def test_rows_read_back_as_they_were_given(engine: AsyncEngine, n: int) -> None:
    given = rows(n)
    async with AsyncSession(engine) as session, session.begin():
        await bulk.insert_rows(session, things, given)

    found = await stored(engine)
    assert len(found) == n
    for row in given:
        back = found[row["key"]]  # type: ignore[index]
        assert back["colour"] == row["colour"]
        assert back["facts"] == row["facts"]
        assert back["at"] == row["at"]
        assert back["at"].tzinfo == UTC  # type: ignore[attr-defined]
        assert back["note"] == row["note"]
    assert sorted(row["id"] for row in found.values()) == list(range(1, n + 1))  # type: ignore[type-var]


async def test_a_copy_as_the_first_statement_is_rolled_back_with_its_transaction(
    engine: AsyncEngine,
) -> None:
    async with AsyncSession(engine) as session:
        transaction = await session.begin()
        await bulk.insert_rows(session, things, rows(bulk.COPY_MIN_ROWS))
        await transaction.rollback()

    assert await stored(engine) == {}


@pytest.mark.parametrize("n", [3, bulk.COPY_MIN_ROWS + 7], ids=["insert", "copy"])
async def test_a_key_taken_meanwhile_fails_as_an_insert_would(engine: AsyncEngine, n: int) -> None:
    given = rows(n)
    async with AsyncSession(engine) as session, session.begin():
        await bulk.insert_rows(session, things, given[-1:])

    taken = [{"id": 1, **row} for row in given[:1]] + [
        {"id": 100 + i, **row} for i, row in enumerate(given[1:])
    ]
    with pytest.raises(IntegrityError):
        async with AsyncSession(engine) as session, session.begin():
            await bulk.insert_rows(session, things, taken)

    assert list(await stored(engine)) == [given[-1]["key"]]  # nothing of the batch written


class Member(BaseModel):
    name: str
    born: date
    key: UUID


@pytest.mark.parametrize("n", [3, bulk.COPY_MIN_ROWS + 7], ids=["insert", "copy"])
async def test_a_json_column_takes_models_as_pydantic_serialises_them(
    engine: AsyncEngine, n: int
) -> None:
    given = rows(n)
    member = Member(name="Nguyễn Thị Ánh", born=date(1990, 2, 28), key=uuid4())
    for row in given:
        row["facts"] = {"member": member, 7: "a key that is not text"}
    async with AsyncSession(engine) as session, session.begin():
        await bulk.insert_rows(session, things, given)

    for back in (await stored(engine)).values():
        assert back["facts"] == {
            "member": member.model_dump(mode="json"),
            "7": "a key that is not text",
        }

    with pytest.raises(StatementError, match="not JSON serializable: set"):
        async with AsyncSession(engine) as session, session.begin():
            await bulk.insert_rows(session, things, [given[0] | {"facts": {"ids": {1, 2}}}])


@pytest.mark.infra
async def test_tables_are_analysed_when_what_was_written_has_doubled() -> None:
    require_infra()
    url = await create_database("kit_analyse")
    the_engine = make_engine(url)
    try:
        async with the_engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        analyser = bulk.Analyser([things], first_after=100)

        async def analyses_after(rows: int) -> int:
            async with AsyncSession(the_engine) as session, session.begin():
                await analyser.wrote(session, rows)
            async with the_engine.connect() as connection:
                statement = text(
                    "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'thing'"
                )
                # The statistics collector reports what it was told at the end of a transaction.
                await connection.execute(text("SELECT pg_stat_clear_snapshot()"))
                return int((await connection.execute(statement)).scalar_one())

        assert [await analyses_after(rows) for rows in (60, 39, 1, 99, 1, 100, 300)] == [
            0,  # 60 written
            0,  # 99
            1,  # 100: the first analysis
            1,  # 199
            2,  # 200: doubled
            2,  # 300
            3,  # 600
        ]
    finally:
        await the_engine.dispose()
        await drop_database(url)
