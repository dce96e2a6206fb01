"""Scale-out on the real PostgreSQL and RabbitMQ: two indicators workers competing on their queue
and two relays of each outbox (the households' and the indicators') give the figures of one of
each; and batch messages give exactly what their surveys' single events give, class changes
included, through the broker too.

Workers and relays run as tasks of this test's event loop, each with its own database pool and
broker connection: they compete as separate processes would, for the queue's deliveries (the
broker spreads them) and for the outbox's rows (`SKIP LOCKED`), in transactions of their own.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
import pytest_asyncio
from sqlalchemy import MetaData, func
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import HouseholdClassification
from indicators.classification.testing import surveys
from indicators.db import inbox
from indicators.db import outbox as indicators_outbox
from indicators.figures.models import UnitFigure
from indicators.handlers import consumer
from indicators.models import metadata
from kit import testing
from kit.contracts import Envelope, HouseholdClassChangedV1, HouseholdClassesChangedV1
from kit.contracts.households import (
    AssessmentRecordedV1,
    AssessmentsRecordedV1,
    VersionedAssessment,
)
from kit.db import make_engine, make_sessionmaker
from kit.messaging import (
    IncomingMessage,
    OutboxRelay,
    RabbitMQBus,
    define_outbox,
    pending_count,
    stage_many,
)
from kit.messaging.bus import Outcome
from kit.messaging.topology import INDICATORS_QUEUE, NOTIFICATIONS_QUEUE

pytestmark = pytest.mark.infra

Survey = tuple[AssessmentRecordedV1, int]
households_outbox = define_outbox(MetaData())  # the households service's, as its relay sees it


def single_events(items: Sequence[Survey]) -> list[Envelope]:
    return [
        Envelope.wrap(facts, producer="households", subject=str(facts.assessment_id), sequence=v)
        for facts, v in items
    ]


def batch_message(items: Sequence[Survey], sequence: int) -> Envelope:
    event = AssessmentsRecordedV1(
        assessments=[VersionedAssessment(sequence=v, assessment=facts) for facts, v in items]
    )
    return Envelope.wrap(event, producer="households", subject="import:1", sequence=sequence)


def batch_messages(items: Sequence[Survey], size: int) -> list[Envelope]:
    return [
        batch_message(items[start : start + size], start // size + 1)
        for start in range(0, len(items), size)
    ]


@dataclass
class Run:
    """What one run of the pipeline left: figures, classes, and the class changes published."""

    counters: dict[tuple[str, str], tuple[int, int]]
    classes: dict[Any, tuple[str, list[str], dict[str, Any]]]
    announced: list[dict[str, Any]]
    handled_by_worker: list[int] = field(default_factory=list)
    published_by_relay: dict[str, list[int]] = field(default_factory=dict)


class Counting:
    """A bus whose publications are counted: which relay published how much."""

    def __init__(self, bus: RabbitMQBus) -> None:
        self.bus, self.published = bus, 0

    async def publish(self, message: Any) -> None:
        await self.bus.publish(message)
        self.published += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bus, name)


async def _schema(prefix: str, schema: MetaData) -> tuple[str, AsyncEngine]:
    url = await testing.create_database(prefix)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(schema.create_all)
    return url, engine


async def _until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(1200):  # a minute at most: a lost message fails the test, not hangs it
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached: {what}")


async def run_pipeline(messages: Sequence[Envelope], *, workers: int, relays: int) -> Run:
    """Households' outbox → relays → RabbitMQ → indicators workers → their outbox → relays →
    the notifications queue, on fresh databases and a virtual host of their own."""
    testing.require_infra()
    vhost = testing.create_vhost()
    async with AsyncExitStack() as stack:
        stack.callback(testing.delete_vhost, vhost)
        source_url, source = await _schema("scale_households", households_outbox.metadata)
        stack.push_async_callback(testing.drop_database, source_url)
        stack.push_async_callback(source.dispose)
        target_url, target = await _schema("scale_indicators", metadata)
        stack.push_async_callback(testing.drop_database, target_url)
        stack.push_async_callback(target.dispose)
        async with make_sessionmaker(source)() as session, session.begin():
            await stage_many(session, households_outbox, list(messages))

        async def connected_bus() -> RabbitMQBus:
            bus = RabbitMQBus(vhost, prefetch=8)
            await bus.start()
            stack.push_async_callback(bus.close)
            await bus.wait_connected(10)
            return bus

        async def own_pool(url: str) -> async_sessionmaker[AsyncSession]:
            engine = make_engine(url)
            stack.push_async_callback(engine.dispose)
            return make_sessionmaker(engine)

        handled = [0] * workers
        for number in range(workers):
            handle_batch = consumer(await own_pool(target_url)).handle_batch

            async def counted(
                batch: Sequence[IncomingMessage],
                handle: Callable[..., Awaitable[list[Outcome]]] = handle_batch,
                number: int = number,
            ) -> list[Outcome]:
                outcomes = await handle(batch)
                handled[number] += sum(outcome is None for outcome in outcomes)
                return outcomes

            bus = await connected_bus()
            await bus.consume_batches(INDICATORS_QUEUE, counted, size=4, max_wait=0.02)
        published: dict[str, list[Counting]] = {"households": [], "indicators": []}
        tasks: list[asyncio.Task[None]] = []
        for service, url, outbox in (
            ("households", source_url, households_outbox),
            ("indicators", target_url, indicators_outbox),
        ):
            for _ in range(relays):
                bus = Counting(await connected_bus())
                published[service].append(bus)
                relay = OutboxRelay(
                    await own_pool(url),
                    outbox,
                    bus,  # type: ignore[arg-type]
                    service=service,
                    batch_size=5,
                    poll_seconds=0.05,
                )
                tasks.append(asyncio.create_task(relay.run()))
        stack.callback(lambda: [task.cancel() for task in tasks])

        async def applied() -> bool:
            async with make_sessionmaker(source)() as session:
                if await pending_count(session, households_outbox):
                    return False
            async with make_sessionmaker(target)() as session:
                done = (await session.exec(select(func.count()).select_from(inbox))).one()
                return done == len(messages) and not await pending_count(session, indicators_outbox)

        await _until(applied, "every message applied and every class change published")
        announced = await _drain(vhost, NOTIFICATIONS_QUEUE.name, target)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with make_sessionmaker(target)() as session:
            figures = (await session.exec(select(UnitFigure))).all()
            classified = (await session.exec(select(HouseholdClassification))).all()
        return Run(
            counters={
                (row.unit_code, row.metric): (row.value, row.key_sum)
                for row in figures
                if row.value or row.key_sum
            },
            classes={
                row.assessment_id: (row.household_class, row.unit_path, row.result)
                for row in classified
            },
            announced=announced,
            handled_by_worker=handled,
            published_by_relay={
                service: [bus.published for bus in buses] for service, buses in published.items()
            },
        )


async def _drain(vhost: str, queue_name: str, target: AsyncEngine) -> list[dict[str, Any]]:
    """Every message of class changes the indicators' outbox staged (single events and batch
    messages), as the notifications queue got them."""
    async with make_sessionmaker(target)() as session:
        class_changes = indicators_outbox.c.type.in_(CLASS_CHANGE_TYPES)
        statement = select(func.count()).select_from(indicators_outbox).where(class_changes)
        staged = (await session.exec(statement)).one()
    received: list[dict[str, Any]] = []
    connection = await aio_pika.connect(vhost)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)

        async def all_received() -> bool:
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                envelope = json.loads(message.body)
                # The queue takes every event (subscriptions may name any type): the class
                # changes are the indicators' part.
                if envelope["type"] in CLASS_CHANGE_TYPES:
                    received.append(envelope)
            return len(received) >= staged

        await _until(all_received, f"{staged} class changes on {queue_name}")
    return received


CLASS_CHANGE_TYPES = (HouseholdClassChangedV1.TYPE, HouseholdClassesChangedV1.TYPE)


def _changes(run: Run) -> list[tuple[str, int, str | None, str]]:
    """The class changes announced, a batch message's as the single events they stand for."""
    changes = []
    for envelope in run.announced:
        data = envelope["data"]
        if envelope["type"] == HouseholdClassChangedV1.TYPE:
            items = [(envelope["sequence"], data)]
        else:
            items = [(item["sequence"], item["change"]) for item in data["changes"]]
        changes += [
            (
                f"{change['household_id']}:{change['round_id']}",
                sequence,
                change["previous_class"],
                change["new_class"],
            )
            for sequence, change in items
        ]
    return sorted(changes)


@pytest.fixture(scope="module")
def items() -> list[Survey]:
    return surveys(11, households=60)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def one_of_each(items: list[Survey]) -> AsyncIterator[Run]:
    yield await run_pipeline(single_events(items), workers=1, relays=1)


async def test_batch_messages_through_the_broker_give_what_single_events_give(
    items: list[Survey], one_of_each: Run
) -> None:
    batched = await run_pipeline(batch_messages(items, 25), workers=1, relays=1)

    assert batched.counters == one_of_each.counters
    assert batched.classes == one_of_each.classes
    assert _changes(batched) == _changes(one_of_each)
    assert len(one_of_each.classes) == 60


async def test_two_workers_and_two_relays_of_each_give_the_figures_of_one_of_each(
    items: list[Survey], one_of_each: Run
) -> None:
    # Interactive single events and bulk batch messages mixed, as a busy round sees them.
    messages = single_events(items[:40]) + batch_messages(items[40:], 6)
    scaled = await run_pipeline(messages, workers=2, relays=2)

    assert all(scaled.handled_by_worker), scaled.handled_by_worker  # both took deliveries
    assert all(scaled.published_by_relay["households"]), scaled.published_by_relay
    assert scaled.counters == one_of_each.counters
    assert scaled.classes == one_of_each.classes
    # Which versions a household passed through depends on the order the competing workers
    # applied them in; but every change is published once, in its household's order, and the
    # last one says the class it has.
    latest: dict[str, tuple[int, str]] = {}
    for subject, sequence, _, new_class in _changes(scaled):
        assert sequence == latest.get(subject, (0, ""))[0] + 1, subject
        latest[subject] = (sequence, new_class)
    final = {
        f"{facts.household_id}:{facts.round_id}": scaled.classes[facts.assessment_id][0]
        for facts, _ in items
    }
    assert {subject: new_class for subject, (_, new_class) in latest.items()} == final
