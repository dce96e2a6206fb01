"""`EventConsumer`: decode, skip what was processed, handle and record it in one transaction."""

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
import structlog
from sqlalchemy import Column, Integer, MetaData, Row, String, Table, Uuid, func, select
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import Envelope, HouseholdClassChangedV1, PopulationRecordedV1
from kit.contracts.households import Area
from kit.messaging import EventConsumer, IncomingMessage, PoisonMessage

from .conftest import Database

CONSUMER = "indicators"

metadata = MetaData()
populations = Table(
    "population",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", Uuid, nullable=False),
    Column("unit_code", String(20), nullable=False),
)


class Handler:
    """Records each call and writes a row, in the consumer's transaction; can be told to fail."""

    def __init__(self) -> None:
        self.calls: list[tuple[Envelope, Any]] = []
        self.contexts: list[dict[str, Any]] = []
        self.fail_with: Exception | None = None

    async def __call__(self, session: AsyncSession, envelope: Envelope, event: Any) -> None:
        self.calls.append((envelope, event))
        self.contexts.append(structlog.contextvars.get_contextvars())
        await session.exec(populations.insert().values(message_id=envelope.id, unit_code="V1"))
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
async def database(sqlite_database: Database) -> Database:
    async with sqlite_database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return sqlite_database


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def consumer(database: Database, handler: Handler) -> EventConsumer:
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=database.sessionmaker,
        inbox=database.inbox,
        handlers={PopulationRecordedV1: handler},
    )


def population_recorded() -> PopulationRecordedV1:
    return PopulationRecordedV1(
        round_id=uuid4(),
        unit_code="00001",
        unit_path=["01", "001", "00001"],
        area=Area.rural,
        resident_households=120,
        resident_persons=480,
    )


def envelope_of(event: PopulationRecordedV1 | HouseholdClassChangedV1) -> Envelope:
    return Envelope.wrap(
        event, producer="households", subject="00001", sequence=1, correlation_id="req-7"
    )


def delivery(body: bytes | Envelope, *, delivery_count: int = 0) -> IncomingMessage:
    if isinstance(body, Envelope):
        body = body.model_dump_json().encode()
    return IncomingMessage(
        body=body, message_id=None, type=None, correlation_id=None, delivery_count=delivery_count
    )


async def processed(database: Database) -> Sequence[Row[Any]]:
    async with database.engine.connect() as connection:
        return (await connection.execute(select(database.inbox))).all()


async def written(database: Database) -> int:
    async with database.engine.connect() as connection:
        return (
            await connection.execute(select(func.count()).select_from(populations))
        ).scalar_one()


class TestHandling:
    async def test_a_message_is_handled_with_its_envelope_and_typed_event(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        event = population_recorded()
        envelope = envelope_of(event)

        await consumer(delivery(envelope))

        [(seen_envelope, seen_event)] = handler.calls
        assert seen_envelope == envelope
        assert seen_event == event
        assert isinstance(seen_event, PopulationRecordedV1)
        [row] = await processed(database)
        assert (row.consumer, row.message_id) == (CONSUMER, envelope.id)
        assert await written(database) == 1

    async def test_the_handler_runs_with_the_correlation_and_message_ids_bound_for_logging(
        self, consumer: EventConsumer, handler: Handler
    ) -> None:
        envelope = envelope_of(population_recorded())

        await consumer(delivery(envelope))

        [context] = handler.contexts
        assert context["request_id"] == "req-7"
        assert context["message_id"] == str(envelope.id)
        assert "request_id" not in structlog.contextvars.get_contextvars()


class TestRedelivery:
    async def test_the_same_message_delivered_again_is_skipped(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        envelope = envelope_of(population_recorded())

        await consumer(delivery(envelope))
        await consumer(delivery(envelope, delivery_count=1))

        assert len(handler.calls) == 1
        assert len(await processed(database)) == 1
        assert await written(database) == 1

    async def test_another_consumer_handles_the_same_message_once_for_itself(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        other_handler = Handler()
        other = EventConsumer(
            name="notifications",
            sessionmaker=database.sessionmaker,
            inbox=database.inbox,
            handlers={PopulationRecordedV1: other_handler},
        )
        event = population_recorded()
        envelope = envelope_of(event)
        await consumer(delivery(envelope))

        await other(delivery(envelope))
        await other(delivery(envelope))

        assert len(handler.calls) == 1
        assert len(other_handler.calls) == 1
        assert sorted(row.consumer for row in await processed(database)) == [
            "indicators",
            "notifications",
        ]
        assert await written(database) == 2

    async def test_a_handler_that_raises_rolls_back_its_writes_and_the_processed_row(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        envelope = envelope_of(population_recorded())
        handler.fail_with = RuntimeError("database restarting")

        with pytest.raises(RuntimeError, match="database restarting"):
            await consumer(delivery(envelope))

        assert await processed(database) == []
        assert await written(database) == 0

        handler.fail_with = None
        await consumer(delivery(envelope, delivery_count=1))

        assert len(handler.calls) == 2
        assert len(await processed(database)) == 1
        assert await written(database) == 1

    async def test_a_handler_that_finds_the_message_poison_rolls_back_and_says_so(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        handler.fail_with = PoisonMessage("unit 00001 does not exist")

        with pytest.raises(PoisonMessage):
            await consumer(delivery(envelope_of(population_recorded())))

        assert await processed(database) == []
        assert await written(database) == 0


class TestPoisonAndUnknown:
    @pytest.mark.parametrize(
        "body",
        [b"not json", b"", b"[]", b'{"type": "households.population.recorded.v1"}'],
        ids=["not-json", "empty", "not-an-object", "not-an-envelope"],
    )
    async def test_an_undecodable_body_is_poison(
        self, consumer: EventConsumer, handler: Handler, database: Database, body: bytes
    ) -> None:
        with pytest.raises(PoisonMessage):
            await consumer(delivery(body))

        assert handler.calls == []
        assert await processed(database) == []

    async def test_an_envelope_whose_data_is_invalid_for_its_type_is_poison(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        valid = envelope_of(population_recorded())
        invalid = valid.model_copy(update={"data": {**valid.data, "resident_persons": -1}})

        with pytest.raises(PoisonMessage):
            await consumer(delivery(invalid))

        assert handler.calls == []
        assert await processed(database) == []

    async def test_a_forwarded_type_is_handed_on_as_it_came_without_its_event(
        self, database: Database, handler: Handler
    ) -> None:
        forwarding = EventConsumer(
            name=CONSUMER,
            sessionmaker=database.sessionmaker,
            inbox=database.inbox,
            handlers={PopulationRecordedV1: handler},
            forwarded={PopulationRecordedV1},
        )
        valid = envelope_of(population_recorded())
        unread = valid.model_copy(update={"data": {**valid.data, "resident_persons": -1}})

        await forwarding(delivery(unread))

        [(envelope, event)] = handler.calls
        assert (envelope.id, envelope.data, event) == (unread.id, unread.data, None)
        assert [row.message_id for row in await processed(database)] == [unread.id]

    async def test_an_unknown_event_type_is_ignored(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        unknown = envelope_of(population_recorded()).model_copy(
            update={"type": "households.population.recorded.v9"}
        )

        await consumer(delivery(unknown))

        assert handler.calls == []
        assert await processed(database) == []

    async def test_a_known_type_this_consumer_has_no_handler_for_is_ignored(
        self, consumer: EventConsumer, handler: Handler, database: Database
    ) -> None:
        event = HouseholdClassChangedV1(
            household_id=uuid4(),
            household_code="H-1",
            round_id=uuid4(),
            standard_id="2022-2025",
            commune_code="00001",
            unit_path=["01", "001", "00001"],
            previous_class=None,
            new_class="poor",
            deprivation_count=3,
        )

        await consumer(delivery(envelope_of(event)))

        assert handler.calls == []
        assert await processed(database) == []


class BatchHandler:
    """A batch handler: records each call's events and writes a row per event."""

    def __init__(self) -> None:
        self.calls: list[list[Envelope]] = []
        self.poison_units: set[str] = set()

    async def __call__(self, session: AsyncSession, events: Sequence[tuple[Envelope, Any]]) -> None:
        self.calls.append([envelope for envelope, _ in events])
        for envelope, event in events:
            if event.unit_code in self.poison_units:
                raise PoisonMessage(f"unit {event.unit_code} does not exist")
            await session.exec(
                populations.insert().values(message_id=envelope.id, unit_code=event.unit_code)
            )


@pytest.fixture
def batch_handler() -> BatchHandler:
    return BatchHandler()


@pytest.fixture
def batch_consumer(database: Database, batch_handler: BatchHandler) -> EventConsumer:
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=database.sessionmaker,
        inbox=database.inbox,
        batch_handlers={PopulationRecordedV1: batch_handler},
    )


def population_in(unit_code: str) -> Envelope:
    event = population_recorded().model_copy(update={"unit_code": unit_code})
    return envelope_of(event)


def limited_to(transaction_bytes: int, database: Database, handler: BatchHandler) -> EventConsumer:
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=database.sessionmaker,
        inbox=database.inbox,
        batch_handlers={PopulationRecordedV1: handler},
        transaction_bytes=transaction_bytes,
    )


class TestBatches:
    async def test_a_batch_is_handled_in_one_call_in_delivery_order_and_every_message_recorded(
        self, batch_consumer: EventConsumer, batch_handler: BatchHandler, database: Database
    ) -> None:
        envelopes = [population_in(f"0000{n}") for n in range(1, 6)]

        outcomes = await batch_consumer.handle_batch([delivery(e) for e in envelopes])

        assert outcomes == [None] * 5
        assert batch_handler.calls == [envelopes]
        assert {row.message_id for row in await processed(database)} == {e.id for e in envelopes}
        assert await written(database) == 5

    async def test_a_batch_larger_than_a_transaction_is_applied_in_several_in_order(
        self, database: Database, batch_handler: BatchHandler
    ) -> None:
        """A delivery of hundreds of import batch messages is not one transaction of hundreds of
        thousands of surveys: each transaction holds at most `transaction_bytes` of messages."""
        envelopes = [population_in(f"0000{n}") for n in range(1, 8)]
        messages = [delivery(e) for e in envelopes]
        size = len(messages[0].body)
        # Three of these messages to a transaction, not four.
        consumer = limited_to(3 * size + 2, database, batch_handler)

        outcomes = await consumer.handle_batch(messages)

        assert outcomes == [None] * 7
        assert batch_handler.calls == [envelopes[0:3], envelopes[3:6], envelopes[6:7]]
        assert await written(database) == 7

    async def test_a_message_larger_than_a_transaction_is_applied_alone(
        self, database: Database, batch_handler: BatchHandler
    ) -> None:
        envelopes = [population_in(f"0000{n}") for n in range(1, 3)]
        consumer = limited_to(10, database, batch_handler)

        outcomes = await consumer.handle_batch([delivery(e) for e in envelopes])

        assert outcomes == [None, None]
        assert batch_handler.calls == [envelopes[0:1], envelopes[1:2]]

    async def test_a_handler_of_two_types_gets_both_in_one_call_in_delivery_order(
        self, database: Database
    ) -> None:
        """How a single event and its batch message (the same facts, many at once) keep their
        relative order: one handler registered for both types."""
        calls: list[list[str]] = []

        async def either(session: AsyncSession, events: Sequence[tuple[Envelope, Any]]) -> None:
            calls.append([envelope.type for envelope, _ in events])

        consumer = EventConsumer(
            name=CONSUMER,
            sessionmaker=database.sessionmaker,
            inbox=database.inbox,
            batch_handlers={PopulationRecordedV1: either, HouseholdClassChangedV1: either},
        )
        changed = HouseholdClassChangedV1(
            household_id=uuid4(),
            household_code="H-1",
            round_id=uuid4(),
            standard_id="2022-2025",
            commune_code="00001",
            unit_path=["01", "001", "00001"],
            previous_class=None,
            new_class="poor",
            deprivation_count=3,
        )
        envelopes = [
            population_in("00001"),
            envelope_of(changed),
            population_in("00002"),
            envelope_of(changed),
        ]

        outcomes = await consumer.handle_batch([delivery(e) for e in envelopes])

        assert outcomes == [None] * 4
        assert calls == [[envelope.type for envelope in envelopes]]

    async def test_the_same_message_twice_in_a_batch_or_again_later_is_handled_once(
        self, batch_consumer: EventConsumer, batch_handler: BatchHandler, database: Database
    ) -> None:
        first, second = population_in("00001"), population_in("00002")
        await batch_consumer.handle_batch([delivery(first)])

        outcomes = await batch_consumer.handle_batch(
            [delivery(first, delivery_count=1), delivery(second), delivery(second)]
        )

        assert outcomes == [None, None, None]
        assert batch_handler.calls == [[first], [second]]
        assert await written(database) == 2

    async def test_an_undecodable_message_is_poison_alone_and_the_rest_is_handled(
        self, batch_consumer: EventConsumer, batch_handler: BatchHandler, database: Database
    ) -> None:
        good = [population_in("00001"), population_in("00002")]

        outcomes = await batch_consumer.handle_batch(
            [delivery(good[0]), delivery(b"not json"), delivery(good[1])]
        )

        assert outcomes[0] is None
        assert isinstance(outcomes[1], PoisonMessage)
        assert outcomes[2] is None
        assert batch_handler.calls == [good]
        assert await written(database) == 2

    async def test_a_message_the_handler_finds_poison_fails_alone_after_the_batch_rolls_back(
        self, batch_consumer: EventConsumer, batch_handler: BatchHandler, database: Database
    ) -> None:
        envelopes = [population_in(code) for code in ("00001", "99999", "00003")]
        batch_handler.poison_units = {"99999"}

        outcomes = await batch_consumer.handle_batch([delivery(e) for e in envelopes])

        assert outcomes[0] is None
        assert isinstance(outcomes[1], PoisonMessage)
        assert outcomes[2] is None
        # The batch, rolled back, then each message on its own.
        assert batch_handler.calls == [envelopes, *([e] for e in envelopes)]
        assert {row.message_id for row in await processed(database)} == {
            envelopes[0].id,
            envelopes[2].id,
        }
        assert await written(database) == 2

    async def test_a_failure_of_one_message_leaves_it_to_be_requeued_and_the_rest_handled(
        self, database: Database, handler: Handler
    ) -> None:
        failing = population_in("00002")

        class FailsOnce(Handler):
            async def __call__(self, session: AsyncSession, envelope: Envelope, event: Any) -> None:
                self.fail_with = RuntimeError("deadlock") if envelope == failing else None
                await super().__call__(session, envelope, event)

        consumer = EventConsumer(
            name=CONSUMER,
            sessionmaker=database.sessionmaker,
            inbox=database.inbox,
            handlers={PopulationRecordedV1: FailsOnce()},
        )
        envelopes = [population_in("00001"), failing, population_in("00003")]

        outcomes = await consumer.handle_batch([delivery(e) for e in envelopes])

        assert outcomes[0] is None
        assert isinstance(outcomes[1], RuntimeError)
        assert outcomes[2] is None
        assert len(await processed(database)) == 2
        assert await written(database) == 2


def _database_gone() -> Exception:
    """What SQLAlchemy raises when the server closed the connection (a restart, an operator)."""
    return OperationalError("SELECT 1", None, ConnectionResetError("connection reset by peer"))


class TestDatabaseOutages:
    async def test_an_outage_is_waited_out_without_failing_the_messages(
        self, database: Database, handler: Handler
    ) -> None:
        class DownTwice(Handler):
            outages = 2

            async def __call__(self, session: AsyncSession, envelope: Envelope, event: Any) -> None:
                await super().__call__(session, envelope, event)
                if self.outages:
                    self.outages -= 1
                    raise _database_gone()

        down = DownTwice()
        consumer = EventConsumer(
            name=CONSUMER,
            sessionmaker=database.sessionmaker,
            inbox=database.inbox,
            handlers={PopulationRecordedV1: down},
        )
        envelope = envelope_of(population_recorded())

        [outcome] = await consumer.handle_batch([delivery(envelope)])

        assert outcome is None  # acknowledged once the database is back: no delivery spent
        assert len(down.calls) == 3
        assert [row.message_id for row in await processed(database)] == [envelope.id]
        assert await written(database) == 1

    async def test_an_outage_longer_than_the_wait_leaves_the_message_to_be_requeued(
        self, database: Database, handler: Handler
    ) -> None:
        handler.fail_with = _database_gone()
        consumer = EventConsumer(
            name=CONSUMER,
            sessionmaker=database.sessionmaker,
            inbox=database.inbox,
            handlers={PopulationRecordedV1: handler},
            outage_seconds=0.5,
        )

        [outcome] = await consumer.handle_batch([delivery(envelope_of(population_recorded()))])

        assert isinstance(outcome, OperationalError)
        assert not isinstance(outcome, PoisonMessage)
        assert len(handler.calls) > 1
        assert await written(database) == 0

    async def test_a_defect_is_not_retried(self, consumer: EventConsumer, handler: Handler) -> None:
        handler.fail_with = RuntimeError("a bug")

        [outcome] = await consumer.handle_batch([delivery(envelope_of(population_recorded()))])

        assert isinstance(outcome, RuntimeError)
        assert len(handler.calls) == 1
