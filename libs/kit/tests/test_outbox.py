"""The transactional outbox on SQLite and PostgreSQL: staging, relaying, refusals, concurrency."""

import asyncio
from collections.abc import Callable, Collection, Sequence
from typing import Any

import pytest
from sqlalchemy import Row, select

from kit.contracts import Envelope
from kit.messaging import (
    IncomingMessage,
    InProcessBus,
    OutboxRelay,
    OutgoingMessage,
    PublishFailed,
    QueueSpec,
    pending_count,
    stage,
    stage_many,
)

from .conftest import Database, Eventually

TYPE = "households.assessment.recorded.v1"


def envelope(n: int = 1, *, type: str = TYPE) -> Envelope:
    return Envelope(
        type=type,
        schema_version=1,
        producer="households",
        correlation_id=f"req-{n}",
        subject=f"household-{n}",
        sequence=n,
        data={"n": n},
    )


class RecordingBus(InProcessBus):
    """Confirms every message except those whose ids are in `refuse`; records what it confirmed."""

    def __init__(self, refuse: Collection[str] = ()) -> None:
        super().__init__(queues=())
        self.refuse = set(refuse)
        self.published: list[OutgoingMessage] = []

    async def publish(self, message: OutgoingMessage) -> None:
        if message.message_id in self.refuse:
            raise PublishFailed("nacked")
        self.published.append(message)

    def ids(self) -> list[str]:
        return [message.message_id for message in self.published]


async def stage_committed(database: Database, *envelopes: Envelope) -> None:
    async with database.sessionmaker() as session, session.begin():
        for each in envelopes:
            await stage(session, database.outbox, each)


async def outbox_rows(database: Database) -> Sequence[Row[Any]]:
    table = database.outbox
    async with database.engine.connect() as connection:
        return (await connection.execute(select(table).order_by(table.c.position))).all()


async def pending(database: Database) -> int:
    async with database.sessionmaker() as session:
        return await pending_count(session, database.outbox)


def relay(database: Database, bus: InProcessBus, **options: Any) -> OutboxRelay:
    return OutboxRelay(database.sessionmaker, database.outbox, bus, service="tests", **options)


def ids(envelopes: Sequence[Envelope]) -> list[str]:
    return [str(each.id) for each in envelopes]


class TestStage:
    async def test_a_staged_message_commits_with_the_callers_transaction(
        self, database: Database
    ) -> None:
        staged = envelope()

        await stage_committed(database, staged)

        [row] = await outbox_rows(database)
        assert row.id == staged.id
        assert row.type == TYPE
        assert Envelope.model_validate(row.envelope) == staged
        assert row.published_at is None
        assert row.attempts == 0

    async def test_staging_in_a_transaction_that_rolls_back_leaves_nothing(
        self, database: Database
    ) -> None:
        async def write_that_fails() -> None:
            async with database.sessionmaker() as session, session.begin():
                await stage(session, database.outbox, envelope())
                raise RuntimeError("the write failed")

        with pytest.raises(RuntimeError, match="the write failed"):
            await write_that_fails()

        assert await outbox_rows(database) == []
        assert await pending(database) == 0


class TestPendingCount:
    async def test_counts_only_the_rows_not_yet_published(self, database: Database) -> None:
        await stage_committed(database, envelope(1), envelope(2), envelope(3))
        assert await pending(database) == 3

        await relay(database, RecordingBus(), batch_size=2).relay_once()

        assert await pending(database) == 1


class TestRelayOnce:
    async def test_publishes_committed_rows_in_position_order_and_marks_them(
        self, database: Database
    ) -> None:
        staged = [envelope(n) for n in range(1, 6)]
        await stage_committed(database, *staged[:2])
        await stage_committed(database, *staged[2:])
        bus = RecordingBus()

        published = await relay(database, bus).relay_once()

        assert published == 5
        assert bus.ids() == ids(staged)
        assert [m.correlation_id for m in bus.published] == [e.correlation_id for e in staged]
        assert all(row.published_at is not None for row in await outbox_rows(database))
        assert await pending(database) == 0

    async def test_a_published_message_carries_the_staged_envelope(
        self, database: Database
    ) -> None:
        staged = envelope(7)
        await stage_committed(database, staged)
        bus = RecordingBus()

        await relay(database, bus).relay_once()

        [sent] = bus.published
        assert sent == OutgoingMessage.from_envelope(staged)

    async def test_a_second_pass_publishes_nothing_again(self, database: Database) -> None:
        await stage_committed(database, envelope(1), envelope(2))
        bus = RecordingBus()
        outbox_relay = relay(database, bus)
        await outbox_relay.relay_once()

        assert await outbox_relay.relay_once() == 0
        assert len(bus.published) == 2

    async def test_publishes_at_most_one_batch_oldest_first(self, database: Database) -> None:
        staged = [envelope(n) for n in range(1, 6)]
        await stage_committed(database, *staged)
        bus = RecordingBus()
        outbox_relay = relay(database, bus, batch_size=2)

        assert await outbox_relay.relay_once() == 2
        assert bus.ids() == ids(staged[:2])
        assert await outbox_relay.relay_once() == 2
        assert await outbox_relay.relay_once() == 1
        assert bus.ids() == ids(staged)

    async def test_rows_the_bus_refuses_stay_pending_and_the_others_are_marked(
        self, database: Database
    ) -> None:
        staged = [envelope(n) for n in range(1, 4)]
        await stage_committed(database, *staged)
        bus = RecordingBus(refuse={str(staged[1].id)})

        with pytest.raises(PublishFailed, match="1 of 3"):
            await relay(database, bus).relay_once()

        assert bus.ids() == ids([staged[0], staged[2]])
        rows = await outbox_rows(database)
        assert [row.published_at is not None for row in rows] == [True, False, True]
        assert [row.attempts for row in rows] == [0, 1, 0]
        assert await pending(database) == 1

    async def test_a_refused_row_is_published_by_a_later_pass(self, database: Database) -> None:
        staged = [envelope(n) for n in range(1, 4)]
        await stage_committed(database, *staged)
        bus = RecordingBus(refuse={str(staged[1].id)})
        outbox_relay = relay(database, bus)
        for _ in range(2):
            with pytest.raises(PublishFailed):
                await outbox_relay.relay_once()
        bus.refuse.clear()

        assert await outbox_relay.relay_once() == 1

        assert bus.ids() == ids([staged[0], staged[2], staged[1]])
        assert [row.attempts for row in await outbox_rows(database)] == [0, 2, 0]
        assert await pending(database) == 0

    async def test_while_the_bus_is_down_every_row_stays_pending_and_counts_an_attempt(
        self, database: Database, eventually: Eventually
    ) -> None:
        queue = QueueSpec(name="indicators.events", binding_keys=("households.#",))
        bus = InProcessBus(queues=[queue])
        received: list[IncomingMessage] = []

        async def handler(message: IncomingMessage) -> None:
            received.append(message)

        await bus.consume(queue, handler)
        staged = [envelope(n) for n in range(1, 4)]
        await stage_committed(database, *staged)
        outbox_relay = relay(database, bus)
        bus.available = False
        try:
            with pytest.raises(PublishFailed, match="3 of 3"):
                await outbox_relay.relay_once()

            assert [row.attempts for row in await outbox_rows(database)] == [1, 1, 1]
            assert await pending(database) == 3

            bus.available = True
            assert await outbox_relay.relay_once() == 3
            await eventually(lambda: len(received) == 3)
            assert [m.message_id for m in received] == ids(staged)
        finally:
            await bus.close()


class TestRun:
    async def test_the_relay_catches_up_once_the_bus_is_back(
        self, database: Database, eventually: Eventually
    ) -> None:
        bus = RecordingBus()
        bus.available = False
        refusing = True

        async def publish(message: OutgoingMessage) -> None:
            if refusing:
                raise PublishFailed("broker down")
            bus.published.append(message)

        bus.publish = publish  # type: ignore[method-assign]
        outbox_relay = relay(database, bus, poll_seconds=0.01)
        staged = envelope()
        await stage_committed(database, staged)
        task = asyncio.create_task(outbox_relay.run())
        try:
            await eventually(_attempted(database))
            refusing = False
            outbox_relay.wake()

            await eventually(lambda: bus.ids() == ids([staged]))
            await eventually(_nothing_pending(database))
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


def _attempted(database: Database) -> Callable[[], Any]:
    async def check() -> bool:
        return any(row.attempts > 0 for row in await outbox_rows(database))

    return check


def _nothing_pending(database: Database) -> Callable[[], Any]:
    async def check() -> bool:
        return await pending(database) == 0

    return check


@pytest.mark.infra
class TestOnPostgreSQL:
    async def test_rows_of_a_transaction_still_open_are_not_published(
        self, postgresql_database: Database
    ) -> None:
        database = postgresql_database
        bus = RecordingBus()
        outbox_relay = relay(database, bus)
        async with database.sessionmaker() as session, session.begin():
            await stage(session, database.outbox, envelope())

            assert await outbox_relay.relay_once() == 0

        assert await outbox_relay.relay_once() == 1

    async def test_two_relays_at_once_never_publish_the_same_row_twice(
        self, postgresql_database: Database
    ) -> None:
        """Each relay waits, mid-batch, until the other publishes too: they must work side by side.

        With `FOR UPDATE SKIP LOCKED` the second relay claims the next batch while the first holds
        its rows. Without `SKIP LOCKED` it would block behind the first (and both would time out);
        without `FOR UPDATE` both would publish the same rows.
        """
        database = postgresql_database
        staged = [envelope(n) for n in range(1, 41)]
        await stage_committed(database, *staged)
        published: list[str] = []
        publishing = {"a": asyncio.Event(), "b": asyncio.Event()}

        class GatedBus(RecordingBus):
            def __init__(self, me: str, other: str) -> None:
                super().__init__()
                self.me, self.other = me, other

            async def publish(self, message: OutgoingMessage) -> None:
                publishing[self.me].set()
                await asyncio.wait_for(publishing[self.other].wait(), 5)
                await asyncio.sleep(0)  # let the other relay run between our publishes
                published.append(message.message_id)

        async def drain(outbox_relay: OutboxRelay) -> int:
            total = 0
            while count := await outbox_relay.relay_once():
                total += count
            return total

        first, second = await asyncio.gather(
            drain(relay(database, GatedBus("a", "b"), batch_size=5)),
            drain(relay(database, GatedBus("b", "a"), batch_size=5)),
        )

        assert sorted(published) == sorted(ids(staged))
        assert first > 0
        assert second > 0
        assert first + second == len(staged)
        assert await pending(database) == 0

    async def test_a_commit_wakes_the_relay_without_waiting_for_its_poll(
        self, postgresql_database: Database, eventually: Eventually
    ) -> None:
        database = postgresql_database
        bus = RecordingBus()
        task = asyncio.create_task(relay(database, bus, poll_seconds=60).run())
        try:
            await asyncio.sleep(0.5)  # the relay's first look (nothing) done, listening
            staged = [envelope(1), envelope(2)]
            async with database.sessionmaker() as session, session.begin():
                await stage(session, database.outbox, staged[0])
                await stage_many(session, database.outbox, staged[1:])

            await eventually(lambda: bus.ids() == ids(staged), within=5)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
