"""Writing many rows at once: PostgreSQL `COPY`, a multi-row INSERT elsewhere.

`insert_rows(session, table, rows)` writes `rows` (dicts keyed by column name, every row with the
same keys) in the session's transaction. On PostgreSQL a batch of at least `COPY_MIN_ROWS` goes
through asyncpg's binary `COPY` on the session's own connection: no SQL to parse, no bound
parameters, several times faster than INSERT for thousands of rows. A `COPY` costs a round trip
of its own to learn the table's column types, so fewer rows (a request's one) are INSERTed.

Values are first put through each column's SQLAlchemy bind processing (enums stored by name, JSON
serialised, `kit.db.UtcDateTime` checked and put in UTC), so that a row written by `COPY` reads
back exactly as one written by the ORM. Columns a row leaves out take their server defaults (an
autoincrement key, for instance). A failed `COPY` raises what a failed INSERT raises
(`sqlalchemy.exc.IntegrityError` for a duplicate key), not the driver's own error.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from asyncpg import exceptions as asyncpg_errors
from sqlalchemy import Table, exc, insert, text
from sqlmodel.ext.asyncio.session import AsyncSession

COPY_MIN_ROWS = 50


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        await _copy(session, table, rows)
        return
    # SQLAlchemy's "insertmanyvalues" sends `INSERT ... VALUES (...), (...)` statements of up to
    # 1,000 rows (fewer where the bound parameters would pass the database's limit), compiled
    # once. It does so for an INSERT with RETURNING, hence the (unread) key.
    key = next(iter(table.primary_key.columns))
    await session.exec(insert(table).returning(key), params=list(rows))


async def _copy(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    connection = await session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [
        (position, process)
        for position, name in enumerate(names)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    records = [_record(row, names, processors) for row in rows]
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # SQLAlchemy's adapter opens the transaction with its first statement: a COPY before any
        # would commit on its own, outside the session's transaction.
        await connection.execute(text("SELECT 1"))
    try:
        await driver.copy_records_to_table(
            table.name, records=records, columns=names, schema_name=table.schema
        )
    except asyncpg_errors.PostgresError as error:
        # Raised as an INSERT's would be, through SQLAlchemy: callers tell a key another writer
        # took meanwhile (IntegrityError) from other failures the same way for both.
        violated = isinstance(error, asyncpg_errors.IntegrityConstraintViolationError)
        failed = exc.IntegrityError if violated else exc.DBAPIError
        raise failed(f"COPY {table.name}", None, error) from error


def _record(
    row: Mapping[str, Any],
    names: Sequence[str],
    processors: Sequence[tuple[int, Callable[[Any], Any]]],
) -> tuple[Any, ...]:
    """The row's values in `names`' order, those of columns with a bind processor processed (most
    columns have none: a value per column through a generator took 10 % of a worker's time)."""
    values = [row[name] for name in names]
    for position, process in processors:
        if values[position] is not None:
            values[position] = process(values[position])
    return tuple(values)


class Analyser:
    """Refreshes PostgreSQL's statistics of tables a process fills in bulk, as they grow.

    PostgreSQL plans a statement from its tables' statistics, and keeps a prepared statement's
    generic plan until they change. Autovacuum refreshes them when it runs, if it is on, and a
    bulk import can outgrow them meanwhile: a plan made for a table of a few thousand rows (a
    sequential scan) was still used at 360,000, each batch of an import reading the whole table
    to find its households by code (305 scans, 46 million rows read, docs/benchmarks.md). So a
    process that writes rows in bulk tells its analyser how many (`wrote`), and the tables are
    analysed when the process has written `first_after` rows and each time it has doubled what
    it had written at the last analysis: seven times for a million rows. (ANALYZE reads a
    sample of each table, a few hundred milliseconds; it takes no lock that writers wait for.)
    """

    def __init__(self, tables: Sequence[Table], *, first_after: int = 10_000) -> None:
        self._tables = tables
        self._written = 0
        self._next = first_after

    async def wrote(self, session: AsyncSession, rows: int) -> None:
        """Count `rows` written; analyse the tables in the session's transaction if it is time."""
        self._written += rows
        if self._written < self._next:
            return
        self._next = 2 * self._written
        connection = await session.connection()
        if connection.dialect.name != "postgresql":
            return
        preparer = connection.dialect.identifier_preparer
        names = ", ".join(preparer.format_table(table) for table in self._tables)
        await connection.exec_driver_sql(f"ANALYZE {names}")
