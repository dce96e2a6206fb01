"""Bulk-import jobs: accept an upload, run it batch by batch, resume it after an interruption.

A job moves `queued → running → completed` (or `failed` when the file cannot be read to the end).
The uploaded file is kept under `IMPORT_DIR`, named after the job. Runners (`python -m
households.importer`, or a task of the embedded platform) claim a job by writing a fresh claim
token with a conditional UPDATE, and every batch commits only while the job still carries that
token, together with the job's new position in the file (`next_row`) and counters. A job whose
runner stopped (killed, crashed, lost its database) keeps `running` with an old heartbeat; after
`IMPORT_LEASE_SECONDS` another runner, or the same one restarted, claims it and resumes at
`next_row`, so the rows of the file are written exactly once.
"""

import asyncio
import csv
import gzip
import io
import multiprocessing
import os
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

import structlog
from sqlalchemy import ColumnElement, and_, func, or_, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.household import surveys
from households.household.models import Assessment, Household
from households.imports import batch, readers, support_batch, workbook
from households.imports.layout import LayoutError
from households.imports.limits import (
    MIB,
    LimitExceeded,
    Limits,
    TextGuard,
    inflated,
    too_large,
)
from households.imports.models import (
    ImportFormat,
    ImportJob,
    ImportKind,
    ImportRowError,
    ImportStatus,
)
from households.imports.readers import FileHousehold, FileSupport
from households.round.models import ReviewRound
from households.support.models import SupportRecord
from kit.auth import Caller, Role
from kit.bulk import Analyser
from kit.db import table_of, utc_now
from kit.errors import ContentTooLarge, FieldError, InvalidInput, NotFound
from kit.runner import collect_garbage_rarely
from kit.spreadsheets import safe_row

log = structlog.get_logger()
# Workbooks are parsed, and large files read and checked, in processes forked from a server
# process that imported the readers and this module once (a fresh interpreter each time takes
# seconds to start), never forks of this busy one.
_PROCESSES = multiprocessing.get_context("forkserver")
_PROCESSES.set_forkserver_preload(["households.imports.readers", "households.imports.service"])

# From this size on, a file's rows are read and checked against the API's schemas in a process
# of its own while this one writes the batches before them: reading and checking is over a
# quarter of the importer's time (docs/benchmarks.md), and in a thread it holds the interpreter's
# lock that the writes need; where no core is idle the process gains nothing measurable. A
# smaller file is read in a thread (starting the process costs about a second).
READ_IN_A_PROCESS_FROM_BYTES = 4 * MIB

MAX_ATTEMPTS = 5  # claims of one job before it is given up as failing every time
BATCH_RETRIES = 3  # a batch that lost a race on a unique key is read again and retried

EXTENSIONS = {".csv": ImportFormat.csv, ".xlsx": ImportFormat.xlsx, ".jsonl": ImportFormat.jsonl}
EXTENSIONS |= {".ndjson": ImportFormat.jsonl}


class ImportNotFound(NotFound):
    def __init__(self, job_id: UUID) -> None:
        super().__init__(f"Import {job_id} does not exist.")


class ClaimLost(Exception):
    """Another runner took the job over (this one was too slow to renew its lease)."""


# --- Upload ---------------------------------------------------------------------------------------


def is_gzipped(filename: str) -> bool:
    return filename.lower().endswith(".gz")


def format_of(filename: str, declared: ImportFormat | None) -> ImportFormat:
    """The format `declared`, or the one the file's name ends in (`.gz` after it: compressed)."""
    if declared is not None:
        return declared
    name = filename[:-3] if is_gzipped(filename) else filename
    found = EXTENSIONS.get(Path(name).suffix.lower())
    if found is None:
        raise InvalidInput.field(
            ["body", "file"],
            f"Cannot tell the format of {filename!r}: name it .csv, .xlsx or .jsonl (.gz after "
            "it if compressed), or give `format`.",
        )
    return found


def upload_path(directory: Path, job: ImportJob) -> Path:
    return directory / f"{job.id}.{job.format.value}"


async def create(
    session: AsyncSession,
    *,
    kind: ImportKind = ImportKind.surveys,
    round_id: UUID | None,
    caller: Caller,
    filename: str,
    file_format: ImportFormat,
    upload: BinaryIO,
    directory: Path,
    limits: Limits,
    request_id: str | None,
) -> ImportJob:
    """Keep the uploaded file and queue its import; 422 naming `file` if its layout is wrong,
    or `round_id` if there is no such round (a survey import needs one); 413 naming the limit if
    the file passes one."""
    if kind == ImportKind.surveys and round_id is None:
        raise InvalidInput.field(["body", "round_id"], "A survey import needs its round_id.")
    if kind == ImportKind.support and file_format == ImportFormat.jsonl:
        message = "Support records are imported from CSV or XLSX (the support template)."
        raise InvalidInput.field(["body", "format"], message)
    job = ImportJob(
        kind=kind,
        round_id=round_id if kind == ImportKind.surveys else None,
        format=file_format,
        filename=Path(filename).name[-255:] or "upload",
        size_bytes=0,
        created_by=caller.subject,
        created_by_role=caller.role.value,
        unit_scope=list(caller.unit_scope) if caller.unit_scope is not None else None,
        # The caller may choose its X-Request-ID: kept no longer than the audit log keeps one.
        request_id=request_id[:64] if request_id else None,
    )
    path = upload_path(directory, job)
    # The file first, without the database: a SQLite database has one connection to share.
    gunzip = is_gzipped(filename)
    try:
        job.size_bytes = await asyncio.to_thread(_store, upload, path, gunzip, file_format, limits)
    except LimitExceeded as error:
        raise _too_large(error) from error
    except (OSError, EOFError, zlib.error) as error:
        if not gunzip:
            raise
        message = f"The file cannot be decompressed: {error}."
        raise InvalidInput.field(["body", "file"], message) from error
    try:
        if job.size_bytes == 0:
            raise InvalidInput.field(["body", "file"], "The file is empty.")
        try:
            if file_format == ImportFormat.xlsx:
                await asyncio.to_thread(workbook.check_archive, path, limits)
                # openpyxl holds the GIL for as long as it parses: another process does that.
                await asyncio.to_thread(
                    _in_a_process, readers.check, path, file_format, limits, kind
                )
            else:
                await asyncio.to_thread(readers.check, path, file_format, limits, kind)
        except LimitExceeded as error:
            raise _too_large(error) from error
        except LayoutError as error:
            raise InvalidInput.field(["body", "file"], str(error)) from error
        if round_id is not None and await session.get(ReviewRound, round_id) is None:
            raise InvalidInput.field(
                ["body", "round_id"], f"Review round {round_id} does not exist."
            )
        session.add(job)
        await session.flush()
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return job


def _too_large(error: LimitExceeded) -> ContentTooLarge:
    return ContentTooLarge(str(error), errors=[FieldError(loc=["body", "file"], msg=str(error))])


def _store(
    upload: BinaryIO, path: Path, gunzip: bool, file_format: ImportFormat, limits: Limits
) -> int:
    """Copy the upload (decompressed) next to its final name, then rename: a crash leaves no
    half file. LimitExceeded as soon as what is written passes a limit (its size, its ratio to
    the compressed bytes read, a text's line length or count). The size of the file kept, which
    only its owner may read (it holds personal data)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    upload.seek(0)
    text = TextGuard(limits) if file_format != ImportFormat.xlsx else None
    chunk_size = text.chunk_size if text is not None else 1 << 20
    size = 0
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            source = gzip.GzipFile(fileobj=upload, mode="rb") if gunzip else upload
            while chunk := source.read(chunk_size):
                size += len(chunk)
                refused = too_large(size, limits) or (
                    inflated(size, upload.tell(), limits) if gunzip else None
                )
                if refused:
                    raise refused
                if text is not None:
                    text.feed(chunk)
                out.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return size


def _in_a_process(check: Callable[..., None], *arguments: object) -> None:
    """Run `check` in a process of its own, started for it and ended after it (its memory with
    it); its exception is raised here."""
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_PROCESSES) as process:
            process.submit(check, *arguments).result()
    except BrokenProcessPool as error:  # killed: out of memory, most likely
        raise LayoutError("The workbook cannot be read: its reader stopped.") from error


# --- Reading jobs ---------------------------------------------------------------------------------


def visible_to(caller: Caller) -> ColumnElement[bool]:
    """Jobs a caller sees: its own, or every job for a caller whose scope is the whole country."""
    if caller.unit_scope is None:
        return true()
    return col(ImportJob.created_by) == caller.subject


async def get(session: AsyncSession, job_id: UUID, caller: Caller) -> ImportJob:
    statement = select(ImportJob).where(ImportJob.id == job_id, visible_to(caller))
    job = (await session.exec(statement)).first()
    if job is None:
        raise ImportNotFound(job_id)
    return job


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    round_id: UUID | None,
    status: ImportStatus | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[ImportJob], int]:
    statement = select(ImportJob).where(visible_to(caller))
    if round_id is not None:
        statement = statement.where(ImportJob.round_id == round_id)
    if status is not None:
        statement = statement.where(ImportJob.status == status)
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(ImportJob.created_at).desc(), col(ImportJob.id))
    return (await session.exec(page.offset(offset).limit(limit))).all(), total


ERROR_COLUMNS = ("row", "field", "message")


async def error_report(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID, *, page: int = 5000
) -> AsyncIterator[bytes]:
    """The job's row errors as CSV (`row,field,message`), in file order, page by page."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")  # so that Excel reads the Vietnamese text as UTF-8
    writer.writerow(ERROR_COLUMNS)
    after: tuple[int, int] | None = None
    while True:
        statement = select(ImportRowError).where(ImportRowError.job_id == job_id)
        if after is not None:
            statement = statement.where(
                or_(
                    col(ImportRowError.row) > after[0],
                    and_(col(ImportRowError.row) == after[0], col(ImportRowError.id) > after[1]),
                )
            )
        ordered = statement.order_by(col(ImportRowError.row), col(ImportRowError.id)).limit(page)
        async with sessionmaker() as session:
            errors = (await session.exec(ordered)).all()
        for error in errors:
            writer.writerow(safe_row((error.row, error.field, error.message)))
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()
        if len(errors) < page:
            return
        last = errors[-1]
        assert last.id is not None
        after = (last.row, last.id)


# --- Running jobs ---------------------------------------------------------------------------------


def _claimable(lease_seconds: float) -> ColumnElement[bool]:
    stale = utc_now() - timedelta(seconds=lease_seconds)
    return or_(
        col(ImportJob.status) == ImportStatus.queued,
        and_(col(ImportJob.status) == ImportStatus.running, col(ImportJob.heartbeat_at) < stale),
    )


@dataclass(frozen=True)
class Claim:
    job_id: UUID
    token: UUID


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], *, lease_seconds: float
) -> Claim | None:
    """Take the oldest queued job, or a running one whose runner stopped renewing its lease."""
    async with sessionmaker() as session, session.begin():
        candidates = select(ImportJob.id).where(_claimable(lease_seconds))
        ids = (await session.exec(candidates.order_by(col(ImportJob.created_at)).limit(5))).all()
        for job_id in ids:
            token, now = uuid4(), utc_now()
            # Conditional: of runners racing for the same job, exactly one matches the row.
            taken = await session.exec(
                update(ImportJob)
                .where(col(ImportJob.id) == job_id, _claimable(lease_seconds))
                .values(
                    status=ImportStatus.running,
                    claim_token=token,
                    heartbeat_at=now,
                    started_at=func.coalesce(col(ImportJob.started_at), now),
                    attempts=col(ImportJob.attempts) + 1,
                )
            )
            if taken.rowcount == 1:
                return Claim(job_id, token)
    return None


# Called after each committed batch with the job's id and the batches committed by this run
# (tests stop a run there, as a killed process would stop).
BatchHook = Callable[[UUID, int], Awaitable[None]]


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    *,
    directory: Path,
    batch_size: int,
    limits: Limits,
    after_batch: BatchHook | None = None,
) -> None:
    """Import the claimed job's file from where it stands to the end."""
    async with sessionmaker() as session:
        job = await session.get(ImportJob, claim.job_id)
        assert job is not None
        review_round = await session.get(ReviewRound, job.round_id) if job.round_id else None
    bound = structlog.contextvars.bound_contextvars(
        import_id=str(job.id), request_id=job.request_id, actor=job.created_by
    )
    path = upload_path(directory, job)
    with bound:
        if job.attempts > MAX_ATTEMPTS:
            message = f"Stopped after failing {MAX_ATTEMPTS} times; see the service's logs."
            await _finish(sessionmaker, claim, ImportStatus.failed, message)
        else:
            try:
                await _run(
                    sessionmaker, claim, job, review_round, path, batch_size, limits, after_batch
                )
            except asyncio.CancelledError:
                # Stopped (SIGTERM): back to the queue at once rather than after the lease. The
                # batch being written was rolled back; the job resumes after the last commit.
                await asyncio.shield(_release(sessionmaker, claim))
                raise
            except (LayoutError, FileNotFoundError) as error:
                missing = "The upload is missing."
                message = str(error) if isinstance(error, LayoutError) else missing
                log.warning("import.failed", error=message)
                await _finish(sessionmaker, claim, ImportStatus.failed, message)
    # The job has finished (an interruption raised above): its file is not needed any more.
    await asyncio.to_thread(path.unlink, missing_ok=True)


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    job: ImportJob,
    review_round: ReviewRound | None,
    path: Path,
    batch_size: int,
    limits: Limits,
    after_batch: BatchHook | None,
) -> None:
    if job.total_rows is None:
        # A file past a limit fails here, before its first row is imported.
        total = await asyncio.to_thread(readers.count_rows, path, job.format, limits)
        await _update(sessionmaker, claim, total_rows=total)
    log.info("import.running", next_row=job.next_row, households=job.households_imported)
    caller = Caller(
        subject=job.created_by,
        role=Role(job.created_by_role),
        unit_scope=tuple(job.unit_scope) if job.unit_scope is not None else None,
    )
    chunks: _SurveyChunks | _SupportChunks
    if job.kind == ImportKind.support:
        supports = readers.read_support(path, job.format, limits)
        chunks = _SupportChunks(supports, job.next_row, batch_size, caller, job.id)
    else:
        assert review_round is not None  # a survey import names its round
        context = batch.Context(review_round=review_round, caller=caller)
        opened = Opened(
            path, job.format, limits, job.next_row, review_round.reference_date, batch_size
        )
        in_a_process = job.size_bytes >= READ_IN_A_PROCESS_FROM_BYTES
        reader = _ChunksInAProcess(opened) if in_a_process else _ChunksInAThread(opened)
        chunks = _SurveyChunks(reader, context, job.id)
    committed = 0
    analyser = Analyser(GROWN_BY_IMPORTS)
    pending = asyncio.ensure_future(chunks.next())
    try:
        while True:
            chunk = await pending
            if not chunk:
                break
            # The next batch is read and checked while this one is written.
            pending = asyncio.ensure_future(chunks.next())
            await _commit_batch(sessionmaker, claim, chunk)
            committed += 1
            async with sessionmaker() as session, session.begin():
                await analyser.wrote(session, chunk.rows)
            if after_batch is not None:
                await after_batch(claim.job_id, committed)
    finally:
        pending.cancel()
        chunks.close()
    await _finish(sessionmaker, claim, ImportStatus.completed, None)
    log.info("import.completed", batches=committed)


# The tables an import fills, analysed as it does (`kit.bulk.Analyser`): the plans of the next
# batches' statements are made from their statistics.
GROWN_BY_IMPORTS = tuple(
    table_of(model) for model in (Household, Assessment, AuditEntry, SupportRecord)
)


@dataclass(frozen=True)
class _Chunk:
    """A batch ready to commit: how to write it, the rows it covers, and the file's next row."""

    write: Callable[[AsyncSession], Awaitable[batch.Outcome]]
    first_row: int
    next_row: int
    rows: int

    def __bool__(self) -> bool:
        return self.rows > 0


class _Chunks:
    """The file's households, `size` at a time, checked against the schemas."""

    def __init__(
        self, items: Iterator[FileHousehold], start: int, reference_date: date, size: int
    ) -> None:
        self._items = items
        self._start = start
        self._reference_date = reference_date
        self._size = size
        self._seen: dict[str, int] = {}
        self._unreadable: LayoutError | None = None

    def next(self) -> list[batch.Checked]:
        """The next batch; LayoutError once the rows before an unreadable part are all given."""
        if self._unreadable is not None:
            raise self._unreadable
        chunk: list[batch.Checked] = []
        try:
            for item in self._items:
                if item.first_row < self._start:
                    # Committed before an interruption: only its code is kept, for duplicates.
                    if item.code is not None:
                        self._seen.setdefault(item.code, item.first_row)
                    continue
                checked = batch.check_schema(item, self._reference_date, self._seen)
                chunk.append(item if checked is None else checked)
                if len(chunk) == self._size:
                    break
        except LayoutError as error:
            if not chunk:
                raise
            self._unreadable = error  # the households read so far are imported first
        return chunk


@dataclass(frozen=True)
class Opened:
    """Where a reader of a job's file starts: the file, its format and limits, the row to start
    at, the round's reference date and the batch size."""

    path: Path
    file_format: ImportFormat
    limits: Limits
    start: int
    reference_date: date
    size: int

    def chunks(self) -> _Chunks:
        items = readers.read(self.path, self.file_format, self.limits)
        return _Chunks(items, self.start, self.reference_date, self.size)


class _ChunksInAThread:
    """The batches, each read and checked in a thread."""

    def __init__(self, opened: Opened) -> None:
        self._chunks = opened.chunks()

    async def next(self) -> list[batch.Checked]:
        return await asyncio.to_thread(self._chunks.next)

    def close(self) -> None:
        pass


class _ChunksInAProcess:
    """The batches, read and checked by a process of their own that keeps the file open between
    them (one worker: batches come in the file's order). A household sent back holds its checked
    survey and where its rows are, not the file's text."""

    def __init__(self, opened: Opened) -> None:
        self._process = ProcessPoolExecutor(
            max_workers=1, mp_context=_PROCESSES, initializer=_open_in_process, initargs=(opened,)
        )

    async def next(self) -> list[batch.Checked]:
        try:
            return await asyncio.wrap_future(self._process.submit(_next_in_process))
        except BrokenProcessPool as error:  # killed: the job is claimed again after its lease
            raise RuntimeError("The import's reader process stopped.") from error

    def close(self) -> None:
        self._process.shutdown(wait=False, cancel_futures=True)


_reading: _Chunks | None = None  # in a reader process: the job's file, open


def _open_in_process(opened: Opened) -> None:
    global _reading  # the one file a reader process keeps open
    collect_garbage_rarely()  # a process of its own, parsing and checking batch after batch
    _reading = opened.chunks()


def _next_in_process() -> list[batch.Checked]:
    assert _reading is not None
    chunk = _reading.next()
    for item in chunk:
        if isinstance(item, batch.Candidate):
            item.source.document = {}  # checked: what is written comes from the schemas
    return chunk


class _SurveyChunks:
    """The file's surveys as batches to commit, from a reader in a thread or a process."""

    def __init__(
        self, reader: _ChunksInAThread | _ChunksInAProcess, context: batch.Context, job_id: UUID
    ) -> None:
        self._reader = reader
        self._context = context
        self._job_id = job_id

    async def next(self) -> _Chunk:
        checked = await self._reader.next()
        if not checked:
            return _Chunk(_nothing, 0, 0, 0)
        context, job_id = self._context, self._job_id
        return _Chunk(
            lambda session: batch.write(session, context, checked, job_id),
            first_row=_source(checked[0]).first_row,
            next_row=_source(checked[-1]).last_row + 1,
            rows=sum(_source(item).rows for item in checked),
        )

    def close(self) -> None:
        self._reader.close()


class _SupportChunks:
    """The file's support records, `size` rows at a time, checked against the API's schema."""

    def __init__(
        self, items: Iterator[FileSupport], start: int, size: int, caller: Caller, job_id: UUID
    ) -> None:
        self._items = items
        self._start = start
        self._size = size
        self._caller = caller
        self._job_id = job_id

    async def next(self) -> _Chunk:
        return await asyncio.to_thread(self._next)

    def close(self) -> None:
        pass

    def _next(self) -> _Chunk:
        checked: list[support_batch.Checked] = []
        for item in self._items:
            if item.row < self._start:
                continue  # committed before an interruption
            checked.append(support_batch.check_schema(item))
            if len(checked) == self._size:
                break
        if not checked:
            return _Chunk(_nothing, 0, 0, 0)
        caller, job_id = self._caller, self._job_id
        return _Chunk(
            lambda session: support_batch.write(session, caller, checked, job_id),
            first_row=checked[0].source.row,
            next_row=checked[-1].source.row + 1,
            rows=len(checked),
        )


async def _nothing(session: AsyncSession) -> batch.Outcome:
    return batch.Outcome()


def _source(item: batch.Checked) -> FileHousehold:
    return item.source if isinstance(item, batch.Candidate) else item


async def _commit_batch(
    sessionmaker: async_sessionmaker[AsyncSession], claim: Claim, chunk: _Chunk
) -> None:
    for attempt in range(1, BATCH_RETRIES + 1):
        try:
            async with sessionmaker() as session, session.begin():
                outcome = await chunk.write(session)
                await _advance(session, claim, chunk, outcome)
            return
        except (DBAPIError, surveys.ConcurrentWrite) as error:
            # Another writer registered one of these codes or IDs meanwhile (or PostgreSQL
            # chose this transaction to break a deadlock with it): read them again.
            if attempt == BATCH_RETRIES or not _lost_a_race(error):
                raise
            log.info("import.batch_retried", attempt=attempt, row=chunk.first_row)


def _lost_a_race(error: DBAPIError | surveys.ConcurrentWrite) -> bool:
    if isinstance(error, surveys.ConcurrentWrite | IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in ("40P01", "40001")


async def _advance(
    session: AsyncSession, claim: Claim, chunk: _Chunk, outcome: batch.Outcome
) -> None:
    rows, next_row = chunk.rows, chunk.next_row
    advanced = await session.exec(
        update(ImportJob)
        .where(col(ImportJob.id) == claim.job_id, col(ImportJob.claim_token) == claim.token)
        .values(
            next_row=next_row,
            rows_done=col(ImportJob.rows_done) + rows,
            rows_failed=col(ImportJob.rows_failed) + outcome.rows_failed,
            households_imported=col(ImportJob.households_imported) + outcome.imported,
            households_skipped=col(ImportJob.households_skipped) + outcome.skipped,
            households_failed=col(ImportJob.households_failed) + outcome.failed,
            heartbeat_at=utc_now(),
        )
    )
    if advanced.rowcount != 1:
        raise ClaimLost(str(claim.job_id))


async def _update(
    sessionmaker: async_sessionmaker[AsyncSession], claim: Claim, **values: object
) -> None:
    async with sessionmaker() as session, session.begin():
        updated = await session.exec(
            update(ImportJob)
            .where(col(ImportJob.id) == claim.job_id, col(ImportJob.claim_token) == claim.token)
            .values(heartbeat_at=utc_now(), **values)
        )
        if updated.rowcount != 1:
            raise ClaimLost(str(claim.job_id))


async def _release(sessionmaker: async_sessionmaker[AsyncSession], claim: Claim) -> None:
    try:
        await _update(sessionmaker, claim, status=ImportStatus.queued, claim_token=None)
    except Exception:
        log.warning("import.release_failed", exc_info=True)  # the lease runs out instead


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: Claim,
    status: ImportStatus,
    error: str | None,
) -> None:
    values: dict[str, object] = {
        "status": status,
        "error": error[:2000] if error else None,
        "finished_at": utc_now(),
        "claim_token": None,
    }
    if status == ImportStatus.completed:
        async with sessionmaker() as session:
            job = await session.get(ImportJob, claim.job_id)
            assert job is not None
        # Every row up to the last one read, blank rows included; a spreadsheet's count of rows
        # may have included formatted empty ones after it.
        first = 1 if job.format == ImportFormat.jsonl else 2
        values["rows_done"] = values["total_rows"] = max(job.next_row - first, 0)
    await _update(sessionmaker, claim, **values)


async def run_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    directory: Path,
    batch_size: int,
    limits: Limits,
    poll_seconds: float,
    lease_seconds: float,
) -> None:
    """Claim and run import jobs one after another, forever; several runners share them."""
    while True:
        try:
            claim = await claim_next(sessionmaker, lease_seconds=lease_seconds)
            if claim is None:
                await asyncio.sleep(poll_seconds)
                continue
            await run(
                sessionmaker, claim, directory=directory, batch_size=batch_size, limits=limits
            )
        except ClaimLost as lost:
            log.warning("import.claim_lost", import_id=str(lost))
        except asyncio.CancelledError:
            raise
        except Exception:
            # The job keeps `running`; its lease runs out and it is claimed again (MAX_ATTEMPTS).
            log.exception("import.interrupted")
            await asyncio.sleep(poll_seconds)
