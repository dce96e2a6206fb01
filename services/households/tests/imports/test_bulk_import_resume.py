"""An import stopped half-way, resumed by another run, ends with exactly the file's households:
stopped between two batches (a killed process), in the middle of a batch's transaction, or
overtaken by a second runner. On SQLite and on PostgreSQL (which also holds column lengths)."""

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.config import Settings
from households.db import outbox
from households.household.models import Assessment, Household
from households.imports import batch
from households.imports import service as import_service
from households.imports.limits import Limits
from households.imports.models import ImportJob, ImportStatus
from households.migrate import migrate
from kit import testing

REGISTERED, BATCH = "households.households.registered.v1", "households.assessments.recorded.v1"
HOUSEHOLD_EVENTS = [REGISTERED, BATCH]
HOUSEHOLDS = 50  # with batches of 7: 8 batches, the last one short


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.infra)])
async def database_url(
    request: pytest.FixtureRequest, seeded_database: Path, tmp_path: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        copy = tmp_path / "households.db"
        shutil.copyfile(seeded_database, copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return
    testing.require_infra()
    url = await testing.create_database("households_import")
    try:
        await migrate(Settings(DATABASE_URL=url, LOG_JSON=False, LOG_LEVEL="WARNING"))
        yield url
    finally:
        await testing.drop_database(url)


class Stop(Exception):
    """The process stopping, as seen from inside it."""


async def state(sessionmaker: async_sessionmaker[AsyncSession], job_id: str) -> dict[str, Any]:
    async with sessionmaker() as session:
        job = await session.get(ImportJob, UUID(job_id))
        assert job is not None
        codes = (await session.exec(select(Household.household_code))).all()
        assessments = (await session.exec(select(func.count()).select_from(Assessment))).one()
        about_households = col(outbox.c.type).in_(HOUSEHOLD_EVENTS)
        envelopes = (await session.exec(select(outbox.c.envelope).where(about_households))).all()
    # A household's registration and its survey, each inside its batch's message.
    subjects = [
        household["household_id"]
        for envelope in envelopes
        if envelope["type"] == REGISTERED
        for household in envelope["data"]["households"]
    ]
    subjects += [
        survey["assessment"]["assessment_id"]
        for envelope in envelopes
        if envelope["type"] == BATCH
        for survey in envelope["data"]["assessments"]
    ]
    return {"job": job, "codes": codes, "assessments": assessments, "events": subjects}


def assert_exactly_the_files_households(found: dict[str, Any], documents: list[Any]) -> None:
    expected = sorted(document["household"]["household_code"] for document in documents)
    assert sorted(found["codes"]) == expected
    assert found["assessments"] == len(expected)
    assert len(found["events"]) == 2 * len(expected)  # one registration, one survey each
    assert len(set(found["events"])) == len(found["events"])  # no event staged twice
    job = found["job"]
    assert job.status == ImportStatus.completed
    assert (job.households_imported, job.households_skipped, job.households_failed) == (
        len(expected),
        0,
        0,
    )
    assert job.rows_done == job.total_rows == len(expected)


async def test_an_import_stopped_between_batches_resumes_after_the_last_committed_one(
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    read_in: str,
) -> None:
    documents = files.documents(HOUSEHOLDS)
    job_id = (await upload("households.jsonl", files.lines(documents))).json()["id"]

    async def stop_after_three(_: UUID, batches: int) -> None:
        if batches == 3:
            raise Stop

    with pytest.raises(Stop):
        await run_jobs(after_batch=stop_after_three)

    stopped = await state(sessionmaker, job_id)
    assert stopped["job"].status == ImportStatus.running
    assert len(stopped["codes"]) == stopped["job"].households_imported == 21
    # Its runner is gone, but its lease is fresh: nobody takes it over yet.
    assert await import_service.claim_next(sessionmaker, lease_seconds=60) is None

    assert await run_jobs(lease_seconds=0) == 1

    resumed = await state(sessionmaker, job_id)
    assert_exactly_the_files_households(resumed, documents)
    assert resumed["job"].attempts == 2


async def test_a_batch_cut_off_in_its_transaction_is_written_by_the_next_run(
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = files.documents(HOUSEHOLDS)
    job_id = (await upload("households.jsonl", files.lines(documents))).json()["id"]
    write, calls, cut_off = batch.write, [], asyncio.Event()

    async def write_then_hang_on_the_third(*args: Any, **kwargs: Any) -> batch.Outcome:
        outcome = await write(*args, **kwargs)
        calls.append(outcome)
        if len(calls) == 3:
            cut_off.set()
            await asyncio.sleep(3600)  # the third batch's rows are in, not yet committed
        return outcome

    monkeypatch.setattr(batch, "write", write_then_hang_on_the_third)
    runner = asyncio.create_task(
        import_service.run_forever(
            sessionmaker,
            directory=Path(settings.IMPORT_DIR),
            batch_size=settings.IMPORT_BATCH_SIZE,
            limits=Limits.of(settings),
            poll_seconds=0.05,
            lease_seconds=60,
        )
    )
    await asyncio.wait_for(cut_off.wait(), timeout=30)
    runner.cancel()  # the process ends here
    with pytest.raises(asyncio.CancelledError):
        await runner
    monkeypatch.setattr(batch, "write", write)

    stopped = await state(sessionmaker, job_id)
    assert len(stopped["codes"]) == stopped["job"].households_imported == 14
    assert stopped["job"].next_row == 15
    # A runner that is stopped (not killed) puts its job back at once: no lease to wait for.
    assert stopped["job"].status == ImportStatus.queued

    await run_jobs(lease_seconds=60)

    assert_exactly_the_files_households(await state(sessionmaker, job_id), documents)


async def test_a_runner_that_lost_its_job_to_another_commits_nothing_more(
    files: Any,
    upload: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    documents = files.documents(HOUSEHOLDS)
    job_id = (await upload("households.jsonl", files.lines(documents))).json()["id"]
    slow = await import_service.claim_next(sessionmaker, lease_seconds=60)
    assert slow is not None
    # The first runner seems dead (no heartbeat within the lease): a second one takes the job.
    fast = await import_service.claim_next(sessionmaker, lease_seconds=0)
    assert fast is not None
    assert fast.job_id == slow.job_id
    options = {
        "directory": Path(settings.IMPORT_DIR),
        "batch_size": settings.IMPORT_BATCH_SIZE,
        "limits": Limits.of(settings),
    }

    with pytest.raises(import_service.ClaimLost):
        await import_service.run(sessionmaker, slow, **options)
    assert (await state(sessionmaker, job_id))["codes"] == []

    await import_service.run(sessionmaker, fast, **options)

    assert_exactly_the_files_households(await state(sessionmaker, job_id), documents)


async def test_a_job_that_keeps_failing_is_given_up(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    job_id = (await upload("households.jsonl", files.jsonl(3))).json()["id"]
    async with sessionmaker() as session, session.begin():
        job = await session.get(ImportJob, UUID(job_id))
        assert job is not None
        job.attempts = import_service.MAX_ATTEMPTS

    await run_jobs()

    failed = (await client.get(f"/api/v1/imports/{job_id}")).json()
    assert failed["status"] == "failed"
    assert "Stopped after failing" in failed["error"]
    async with sessionmaker() as session:
        assert (await session.exec(select(func.count(col(Household.id))))).one() == 0


async def test_a_long_request_id_of_the_uploader_is_cut_to_what_the_audit_log_keeps(
    client: httpx.AsyncClient, files: Any, round_id: str, run_jobs: Any
) -> None:
    accepted = await client.post(
        "/api/v1/imports",
        files={"file": ("households.jsonl", files.jsonl(2))},
        data={"round_id": round_id},
        headers={"X-Request-ID": "r" * 300},
    )
    assert accepted.status_code == 202, accepted.text

    await run_jobs()

    done = (await client.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
    assert (done["status"], done["households_imported"]) == ("completed", 2)


async def test_an_importer_process_killed_half_way_is_resumed_by_the_next_one(
    database_url: str,
    files: Any,
    upload: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    documents = files.documents(600)
    job_id = (await upload("households.jsonl", files.lines(documents))).json()["id"]
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "IMPORT_DIR": settings.IMPORT_DIR,
        "IMPORT_BATCH_SIZE": "10",
        "IMPORT_POLL_SECONDS": "0.05",
        "IMPORT_LEASE_SECONDS": "1",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "households.importer"]

    first = await asyncio.create_subprocess_exec(*command, env=environment)
    try:
        while not (await state(sessionmaker, job_id))["codes"]:
            assert first.returncode is None, "the importer stopped by itself"
            await asyncio.sleep(0.02)
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind
        await first.wait()
    killed = await state(sessionmaker, job_id)
    assert killed["job"].status == ImportStatus.running
    assert 0 < len(killed["codes"]) < len(documents)

    second = await asyncio.create_subprocess_exec(*command, env=environment)
    try:
        for _ in range(1500):
            if (await state(sessionmaker, job_id))["job"].status != ImportStatus.running:
                break
            assert second.returncode is None, "the importer stopped by itself"
            await asyncio.sleep(0.05)
    finally:
        second.terminate()
        await second.wait()

    assert_exactly_the_files_households(await state(sessionmaker, job_id), documents)


async def test_two_jobs_importing_the_same_households_at_once_write_each_once(
    files: Any,
    upload: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    documents = files.documents(HOUSEHOLDS)
    content = files.lines(documents)
    jobs = [(await upload(f"copy-{n}.jsonl", content)).json()["id"] for n in range(2)]
    claims = [await import_service.claim_next(sessionmaker, lease_seconds=60) for _ in jobs]
    options = {
        "directory": Path(settings.IMPORT_DIR),
        "batch_size": settings.IMPORT_BATCH_SIZE,
        "limits": Limits.of(settings),
    }

    await asyncio.gather(
        *(import_service.run(sessionmaker, claim, **options) for claim in claims if claim)
    )

    found = [await state(sessionmaker, job_id) for job_id in jobs]
    assert sorted(found[0]["codes"]) == sorted(d["household"]["household_code"] for d in documents)
    assert len(found[0]["events"]) == 2 * HOUSEHOLDS
    outcomes = [
        (item["job"].status, item["job"].households_imported, item["job"].households_skipped)
        for item in found
    ]
    assert all(status == ImportStatus.completed for status, _, _ in outcomes)
    assert sum(imported for _, imported, _ in outcomes) == HOUSEHOLDS
    assert all(imported + skipped == HOUSEHOLDS for _, imported, skipped in outcomes)
