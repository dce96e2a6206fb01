"""A task cancelled mid-query must not leave SQLite's write lock held (`kit.db.ClosingConnection`).

Ctrl-C cancels whatever is running; a connection closed with a statement still mid-way used to
stay open, locked, until its cursor was garbage-collected, and the next writer failed with
"database is locked" after its busy timeout.
"""

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from kit.db import ClosingConnection, make_engine

ROWS = 50


def make_table(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(ROWS)])


def test_closing_with_a_statement_mid_way_rolls_back_and_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    make_table(path)
    connection = sqlite3.connect(path, factory=ClosingConnection)
    connection.cursor().execute("INSERT INTO t VALUES (-1)")  # the write lock taken
    reading = connection.cursor()
    reading.execute("SELECT x FROM t")
    reading.fetchone()  # the statement stays mid-way
    connection.close()

    other = sqlite3.connect(path, timeout=0.5)
    other.execute("INSERT INTO t VALUES (-2)")  # "database is locked" while the first lives
    other.commit()
    assert other.execute("SELECT count(*) FROM t WHERE x < 0").fetchone() == (1,)  # -1 undone
    other.close()


async def test_a_task_cancelled_mid_query_leaves_the_database_writable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    make_table(path)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    query_running = threading.Event()

    def running() -> int:
        query_running.set()
        return 0

    @event.listens_for(engine.sync_engine, "connect")
    def register(connection: Any, _: Any) -> None:
        connection.create_function("running", 0, running)

    async def write_then_read_slowly() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (-1)"))
            # Long enough to be cancelled in the middle (a few hundred thousand rows).
            await connection.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT running() UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 300000) SELECT sum(i) FROM n"
                )
            )

    try:
        task = asyncio.create_task(write_then_read_slowly())
        assert await asyncio.to_thread(query_running.wait, 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        async with engine.begin() as connection:
            await connection.execute(text("PRAGMA busy_timeout=5000"))  # fail in 5 s, not 30
            await connection.execute(text("INSERT INTO t VALUES (-2)"))
        async with engine.connect() as connection:
            negative = await connection.scalar(text("SELECT group_concat(x) FROM t WHERE x < 0"))
        assert negative == "-2"  # the cancelled transaction rolled back, the next one committed
    finally:
        await engine.dispose()
