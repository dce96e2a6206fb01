"""`EventConsumer`: decode, skip what was processed, handle and record it in one transaction."""

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
import structlog
from sqlalchemy import Column, Integer, MetaData, Row, String, Table, Uuid, func, select
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
