"""A full recalculation gives exactly the figures that incremental updates gave."""

import asyncio
import random
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators import jobs
from indicators.classification import service as classification_service
from indicators.classification.testing import assessment, member
from indicators.db import outbox
from indicators.figures.models import UnitFigure
from indicators.handlers import consumer
from indicators.recalculation import service as recalculation_service
from indicators.recalculation.models import JobStatus, RecalculationJob
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller, Role
from kit.contracts import Envelope, Event
from kit.contracts.households import Area, PopulationRecordedV1, WaterSource
from kit.messaging import IncomingMessage

ROUND = UUID("00000000-0000-4000-8000-000000000003")
COMMUNES = [("243", "08707"), ("243", "08710"), ("244", "08773")]


def message(event: Event, *, subject: str, sequence: int) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", subject=subject, sequence=sequence)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def random_events(seed: int, households: int = 40) -> list[IncomingMessage]:
    """Households in three communes, some surveyed twice, and the communes' populations."""
    rng = random.Random(seed)
    messages = []
    for number in range(households):
        district, commune = rng.choice(COMMUNES)
        identity = {
            "assessment_id": uuid4(),
            "household_id": uuid4(),
            "household_code": f"H{number}",
            "commune_code": commune,
            "unit_path": ["26", district, commune],
        }
        for version in range(1, rng.choice([2, 3]) + 1):
            event = assessment(
                **identity,
                area=rng.choice([Area.rural, Area.urban]),
                income_score_a=rng.choice([90, 140, 141, 175, 176, 300]),
                members=[
                    member(1, has_health_insurance=rng.random() < 0.7),
                    member(2, age_years=rng.choice([10, 40, 70])),
                ],
                internet_use=rng.random() < 0.6,
                devices=[] if rng.random() < 0.4 else ["tv"],
                water_source=rng.choice([WaterSource.piped, WaterSource.surface_water]),
            )
            messages.append(
                message(event, subject=str(identity["assessment_id"]), sequence=version)
            )
    for district, commune in COMMUNES[:2]:
        event = PopulationRecordedV1(
            round_id=ROUND,
            unit_code=commune,
            unit_path=["26", district, commune],
            area=Area.rural,
            resident_households=50,
            resident_persons=200,
        )
        messages.append(message(event, subject=f"population:{commune}", sequence=1))
    rng.shuffle(messages)  # reordered delivery: later versions may come first
    return messages


async def totals(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[tuple[str, str], tuple[int, int]]:
    """Every counter of the round: its value and its key sum (the cell key's source)."""
    async with sessionmaker() as session:
        statement = select(UnitFigure).where(UnitFigure.round_id == ROUND)
        return {
            (row.unit_code, row.metric): (row.value, row.key_sum)
            for row in (await session.exec(statement)).all()
            if row.value or row.key_sum
        }


async def recalculate(
    sessionmaker: async_sessionmaker[AsyncSession], unit_scope: tuple[str, ...] | None = None
) -> RecalculationJob:
    caller = Caller(subject="recalculating", role=Role.ADMIN, unit_scope=unit_scope)
    async with sessionmaker() as session, session.begin():
        requested = await recalculation_service.request(session, ROUND, caller)
    claimed = await recalculation_service.claim_next(sessionmaker, lease_seconds=60)
    assert claimed is not None
    assert claimed.id == requested.id
    await recalculation_service.run(sessionmaker, claimed.id, batch_size=7)
    async with sessionmaker() as session:
        return await recalculation_service.get(session, claimed.id)


@pytest.mark.parametrize("seed", [1, 2])
async def test_recalculating_reproduces_the_incremental_figures(
    sessionmaker: async_sessionmaker[AsyncSession], seed: int
) -> None:
    handle = consumer(sessionmaker)
    for incoming in random_events(seed):
        await handle(incoming)
    incremental = await totals(sessionmaker)

    job = await recalculate(sessionmaker)

    assert job.status == JobStatus.succeeded
    assert (job.done, job.total) == (40, 40)
    assert job.changed_classes == 0
    assert job.figures_changed == 0
    assert await totals(sessionmaker) == incremental
    value, key_sum = incremental[("26", "households.surveyed")]
    assert value == 40
    assert key_sum > 0


async def test_after_a_standard_correction_figures_match_a_fresh_run_under_it(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = consumer(sessionmaker)
    events = random_events(3)
    for incoming in events:
        await handle(incoming)
    before = await totals(sessionmaker)
    staged_before = len(await _staged(sessionmaker))

    corrected = _raise_score_cutoffs(get_standard("VN-2022-2025"))
    monkeypatch.setattr(classification_service, "get_standard", lambda _: corrected)
    monkeypatch.setattr(recalculation_service, "get_standard", lambda _: corrected)
    job = await recalculate(sessionmaker)
    after = await totals(sessionmaker)

    assert job.status == JobStatus.succeeded
    assert job.changed_classes > 1
    assert after != before
    # The recalculation announces its changes together, not one message per household.
    announced = [
        document
        for document in (await _staged(sessionmaker))[staged_before:]
        if document["type"].startswith("indicators.household.class")
    ]
    assert {document["type"] for document in announced} == {
        "indicators.household.classes_changed.v1"
    }
    assert len(announced) < job.changed_classes
    assert sum(len(d["data"]["changes"]) for d in announced) == job.changed_classes
    # What incremental updates would have given had the corrected standard applied all along:
    fresh = await _emptied(sessionmaker)
    for incoming in events:
        await consumer(fresh)(incoming)
    assert await totals(fresh) == after


async def test_an_event_arriving_mid_run_is_included_by_starting_over(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = consumer(sessionmaker)
    events = random_events(4)
    late, early = events[-1], events[:-1]
    for incoming in early:
        await handle(incoming)
    report_progress = recalculation_service._progress
    delivered = False

    async def progress_then_deliver(*args: object, **kwargs: int) -> None:
        nonlocal delivered
        await report_progress(*args, **kwargs)  # type: ignore[arg-type]
        if not delivered and kwargs["done"]:
            delivered = True
            await handle(late)

    monkeypatch.setattr(recalculation_service, "_progress", progress_then_deliver)
    job = await recalculate(sessionmaker)
    with_late_event = await totals(sessionmaker)

    assert delivered
    assert job.status == JobStatus.succeeded
    fresh = await _emptied(sessionmaker)
    for incoming in events:
        await consumer(fresh)(incoming)
    assert await totals(fresh) == with_late_event


# Hà Nội, beside Vĩnh Phúc's three communes: a province outside every scope below.
HA_NOI = ["01", "001", "00001"]


def events_in_two_provinces(seed: int) -> list[IncomingMessage]:
    events = random_events(seed)
    for number in range(6):
        event = assessment(
            assessment_id=uuid4(),
            household_id=uuid4(),
            household_code=f"HN{number}",
            commune_code=HA_NOI[-1],
            unit_path=HA_NOI,
            income_score_a=[90, 141, 176, 200, 250, 300][number],
            internet_use=number % 2 == 0,
            devices=[] if number < 3 else ["tv"],
        )
        events.append(message(event, subject=f"HN{number}", sequence=1))
    return events


SUBTREES = {"26": {"26", "243", "244", *(c for _, c in COMMUNES)}, "243": {"243", "08707", "08710"}}


@pytest.mark.parametrize(
    ("unit_scope", "subtree", "above"),
    [
        (("26",), SUBTREES["26"], ()),
        (("243",), SUBTREES["243"], ("26",)),
        (("243", "08707"), SUBTREES["243"], ("26",)),  # a unit inside another counts once
    ],
)
async def test_a_scoped_recalculation_redoes_its_units_and_leaves_every_other_counter(
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    unit_scope: tuple[str, ...],
    subtree: set[str],
    above: tuple[str, ...],
) -> None:
    events = events_in_two_provinces(6)
    for incoming in events:
        await consumer(sessionmaker)(incoming)
    before = await totals(sessionmaker)
    corrected = _raise_score_cutoffs(get_standard("VN-2022-2025"))
    monkeypatch.setattr(classification_service, "get_standard", lambda _: corrected)
    monkeypatch.setattr(recalculation_service, "get_standard", lambda _: corrected)

    job = await recalculate(sessionmaker, unit_scope)
    after = await totals(sessionmaker)
    fresh = await _emptied(sessionmaker)
    for incoming in events:
        await consumer(fresh)(incoming)
    everywhere = await totals(fresh)

    def within(
        counters: dict[tuple[str, str], tuple[int, int]], units: set[str]
    ) -> dict[str, tuple[int, int]]:
        return {f"{unit} {metric}": v for (unit, metric), v in counters.items() if unit in units}

    outside = {unit for unit, _ in before.keys() | everywhere.keys()} - subtree - set(above)
    assert job.status == JobStatus.succeeded
    assert job.unit_scope == list(unit_scope)
    assert within(everywhere, subtree) != within(before, subtree)  # there was work to do
    assert within(everywhere, outside) != within(before, outside)  # and outside too, not done
    assert within(after, subtree) == within(everywhere, subtree)
    assert within(after, outside) == within(before, outside)
    top, zero = unit_scope[0], (0, 0)
    for unit in above:  # moved by exactly what its scope unit moved, value and key sum alike
        metrics = {metric for (code, metric) in before.keys() | after.keys() if code == unit}
        for metric in metrics:
            now, then = after.get((top, metric), zero), before.get((top, metric), zero)
            expected = tuple(
                old + new - earlier
                for old, new, earlier in zip(
                    before.get((unit, metric), zero), now, then, strict=True
                )
            )
            assert after.get((unit, metric), zero) == expected, metric
    # The province still adds up from its districts.
    for (unit, metric), value in after.items():
        if unit == "26":
            districts = tuple(
                a + b
                for a, b in zip(
                    after.get(("243", metric), zero), after.get(("244", metric), zero), strict=True
                )
            )
            assert value == districts, metric


def _raise_score_cutoffs(standard: Standard) -> Standard:
    income_test = standard.income_test.model_copy(
        update={
            "score_cutoff": standard.income_test.score_cutoff.model_copy(
                update={"rural": 300, "urban": 300}
            )
        }
    )
    return standard.model_copy(update={"income_test": income_test})


async def _emptied(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """The same database with every table emptied, for a second run from scratch."""
    from indicators.models import metadata

    async with sessionmaker.kw["bind"].begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    return sessionmaker


@pytest.mark.parametrize("size", [5, 200])
async def test_events_handled_in_batches_give_the_figures_of_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], size: int
) -> None:
    events = random_events(5)
    for incoming in events:
        await consumer(sessionmaker)(incoming)
    one_by_one = await totals(sessionmaker)
    announced_one_by_one = await _announced(sessionmaker)

    batched = await _emptied(sessionmaker)
    handle = consumer(batched)
    for start in range(0, len(events), size):
        outcomes = await handle.handle_batch(events[start : start + size])
        assert not any(outcomes)

    assert await totals(batched) == one_by_one
    assert await _announced(batched) == announced_one_by_one


async def _staged(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """Every event the indicators' outbox holds, in the order staged."""
    async with sessionmaker() as session:
        statement = select(outbox.c.envelope).order_by(outbox.c.position)
        return list((await session.exec(statement)).all())


async def _announced(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[tuple[str, int, str | None, str]]:
    """The class changes staged, alone or in batch messages (events applied together announce
    together), per household in order: (household, sequence, from, to)."""
    changes = []
    for document in await _staged(sessionmaker):
        if document["type"] == "indicators.household.class_changed.v1":
            changes.append((document["sequence"], document["data"]))
        elif document["type"] == "indicators.household.classes_changed.v1":
            changes += [(item["sequence"], item["change"]) for item in document["data"]["changes"]]
    return sorted(
        (change["household_code"], sequence, change["previous_class"], change["new_class"])
        for sequence, change in changes
    )


class TestLease:
    """A job whose worker died (killed mid-run: its lease no longer renewed) is taken again and
    restarted by another worker; one that keeps killing its workers fails."""

    async def _requested(self, sessionmaker: async_sessionmaker[AsyncSession]) -> UUID:
        for incoming in random_events(3, households=12):
            await consumer(sessionmaker)(incoming)
        caller = Caller(subject="recalculating", role=Role.ADMIN, unit_scope=None)
        async with sessionmaker() as session, session.begin():
            return (await recalculation_service.request(session, ROUND, caller)).id

    async def test_a_running_job_is_not_taken_while_its_lease_lasts(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        await self._requested(sessionmaker)
        assert await recalculation_service.claim_next(sessionmaker, lease_seconds=60) is not None

        assert await recalculation_service.claim_next(sessionmaker, lease_seconds=60) is None

    async def test_a_job_whose_worker_died_is_taken_again_and_finished(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        job_id = await self._requested(sessionmaker)
        first = await recalculation_service.claim_next(sessionmaker, lease_seconds=60)
        assert first is not None  # ... and its worker is killed before it reports anything
        await asyncio.sleep(0.05)

        second = await recalculation_service.claim_next(sessionmaker, lease_seconds=0.01)
        assert second is not None
        assert (second.id, second.attempts) == (job_id, 2)
        await recalculation_service.run(sessionmaker, second.id, batch_size=5)

        async with sessionmaker() as session:
            job = await recalculation_service.get(session, job_id)
        assert job.status == JobStatus.succeeded
        assert job.done == job.total == 12

    async def test_progress_renews_the_lease(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        job_id = await self._requested(sessionmaker)
        claimed = await recalculation_service.claim_next(sessionmaker, lease_seconds=60)
        assert claimed is not None
        assert claimed.heartbeat_at is not None
        await asyncio.sleep(0.05)

        await recalculation_service.run(sessionmaker, job_id, batch_size=5)

        async with sessionmaker() as session:
            job = await recalculation_service.get(session, job_id)
        assert job.heartbeat_at is not None
        assert job.heartbeat_at > claimed.heartbeat_at

    async def test_a_job_that_keeps_losing_its_worker_fails_saying_so(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        job_id = await self._requested(sessionmaker)
        for _ in range(jobs.MAX_CLAIMS):
            assert await recalculation_service.claim_next(sessionmaker, lease_seconds=0) is not None
            await asyncio.sleep(0.01)

        assert await recalculation_service.claim_next(sessionmaker, lease_seconds=0) is None
        async with sessionmaker() as session:
            job = await recalculation_service.get(session, job_id)
        assert job.status == JobStatus.failed
        assert job.error is not None
        assert "stopped 3 times" in job.error
