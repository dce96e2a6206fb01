"""The indicators consumer: classification, unit counters, idempotency and ordering."""

from uuid import UUID, uuid4

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment, member
from indicators.db import outbox
from indicators.figures import service as figures_service
from indicators.handlers import consumer
from kit.contracts import Envelope, Event
from kit.contracts.households import Area, PopulationRecordedV1
from kit.messaging import IncomingMessage, PoisonMessage

ROUND = UUID("00000000-0000-4000-8000-000000000003")
PATH = ["26", "243", "08707"]


def message(
    event: Event, *, sequence: int, subject: str | None = None, message_id: UUID | None = None
) -> IncomingMessage:
    envelope = Envelope.wrap(
        event,
        producer="households",
        sequence=sequence,
        subject=subject or str(getattr(event, "assessment_id", "s")),
    )
    if message_id is not None:
        envelope = envelope.model_copy(update={"id": message_id})
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def poor_household(**overrides: object) -> Event:
    """Score under the rural cut-off and three deprivations: no insurance, internet, devices."""
    return assessment(
        members=[member(1, has_health_insurance=False), member(2, age_years=38)],
        internet_use=False,
        devices=[],
        **overrides,
    )


def population(households: int, persons: int, code: str = "08707") -> Event:
    return PopulationRecordedV1(
        round_id=ROUND,
        unit_code=code,
        unit_path=[*PATH[:2], code],
        area=Area.rural,
        resident_households=households,
        resident_persons=persons,
    )


async def counters(sessionmaker: async_sessionmaker[AsyncSession], unit: str) -> dict[str, int]:
    async with sessionmaker() as session:
        values, _ = await figures_service.read(session, ROUND, unit)
    return {metric: value for metric, value in values.items() if value}


# Entries onto the left-behind lists have tests of their own (tests/left_behind).
LEFT_BEHIND = "indicators.household.left_behind.v1"


async def staged_types(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        statement = (
            select(outbox.c.type).where(outbox.c.type != LEFT_BEHIND).order_by(outbox.c.position)
        )
        rows = (await session.exec(statement)).all()
    return list(rows)


class TestAnAssessment:
    async def test_is_counted_in_the_commune_and_every_ancestor(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        await consumer(sessionmaker)(message(poor_household(), sequence=1))

        for unit in PATH:
            figures = await counters(sessionmaker, unit)
            assert figures["households.poor"] == 1
            assert figures["households.poor.rural"] == 1
            assert figures["persons.poor"] == 2
            assert figures["deprived.poor.health_insurance"] == 1
            assert figures["deprivations.poor"] == 3

    async def test_that_is_redelivered_counts_once(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        event_id = uuid4()
        await handle(message(poor_household(), sequence=1, message_id=event_id))
        once = await counters(sessionmaker, "26")

        await handle(message(poor_household(), sequence=1, message_id=event_id))
        await handle(message(poor_household(), sequence=1))  # a duplicate with another id

        assert await counters(sessionmaker, "26") == once
        assert await staged_types(sessionmaker) == ["indicators.household.class_changed.v1"]

    async def test_arriving_after_a_newer_version_is_ignored(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        await handle(message(assessment(income_score_a=300), sequence=2))  # not poor
        await handle(message(poor_household(), sequence=1))  # older, late

        figures = await counters(sessionmaker, "08707")
        assert figures["households.not_poor"] == 1
        assert "households.poor" not in figures

    async def test_whose_class_changes_moves_the_counters_and_announces_it(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        await handle(message(poor_household(), sequence=1))
        await handle(message(assessment(income_score_a=300), sequence=2))

        figures = await counters(sessionmaker, "243")
        assert figures["households.surveyed"] == 1
        assert figures["households.not_poor"] == 1
        assert "households.poor" not in figures
        assert "deprived.poor.health_insurance" not in figures
        assert await staged_types(sessionmaker) == ["indicators.household.class_changed.v1"] * 2

    async def test_of_a_household_that_moved_commune_leaves_the_old_one(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        await handle(message(poor_household(), sequence=1))
        moved = poor_household(commune_code="08710", unit_path=["26", "243", "08710"])
        await handle(message(moved, sequence=2))

        assert await counters(sessionmaker, "08707") == {}
        assert (await counters(sessionmaker, "08710"))["households.poor"] == 1
        assert (await counters(sessionmaker, "243"))["households.poor"] == 1

    async def test_under_an_unknown_standard_is_poison(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        with pytest.raises(PoisonMessage):
            await consumer(sessionmaker)(message(assessment(standard_id="VN-1999"), sequence=1))
        assert await counters(sessionmaker, "26") == {}


class TestPopulation:
    async def test_sets_the_denominators_of_every_unit_on_its_path(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        await consumer(sessionmaker)(message(population(120, 480), sequence=1, subject="p"))

        for unit in PATH:
            figures = await counters(sessionmaker, unit)
            assert figures["households.resident"] == 120
            assert figures["persons.resident.rural"] == 480
            assert figures["communes.with_population"] == 1

    async def test_replaced_moves_the_denominators_by_the_difference(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        await handle(message(population(120, 480), sequence=1, subject="p"))
        await handle(message(population(100, 400), sequence=2, subject="p"))
        await handle(message(population(120, 480), sequence=1, subject="p"))  # stale

        figures = await counters(sessionmaker, "26")
        assert figures["households.resident"] == 100
        assert figures["communes.with_population"] == 1

    async def test_missing_for_a_surveyed_commune_is_flagged_up_the_tree(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        await handle(message(poor_household(), sequence=1))
        assert (await counters(sessionmaker, "26"))["communes.missing_population"] == 1

        await handle(message(population(10, 40), sequence=1, subject="p"))
        assert "communes.missing_population" not in await counters(sessionmaker, "26")


async def test_every_household_is_classified_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from indicators.classification.models import HouseholdClassification

    handle = consumer(sessionmaker)
    for _ in range(5):
        await handle(
            message(poor_household(assessment_id=uuid4(), household_id=uuid4()), sequence=1)
        )
    async with sessionmaker() as session:
        count = (
            await session.exec(select(func.count()).select_from(HouseholdClassification))
        ).one()
    assert count == 5
    assert (await counters(sessionmaker, "26"))["households.poor"] == 5


async def outbox_sequences(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    """The revisions of the class changes announced, alone or in batch messages (events applied
    together announce together)."""
    async with sessionmaker() as session:
        rows = (await session.exec(select(outbox.c.envelope).order_by(outbox.c.position))).all()
    sequences = []
    for document in rows:
        if document["type"] == "indicators.household.classes_changed.v1":
            sequences += [item["sequence"] for item in document["data"]["changes"]]
        elif document["type"] == "indicators.household.class_changed.v1":
            sequences.append(document["sequence"])
    return sequences


class TestABatch:
    """Several events in one transaction give exactly what handling them one by one gives."""

    async def test_with_two_versions_in_order_applies_both_and_announces_both_changes(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        outcomes = await consumer(sessionmaker).handle_batch(
            [
                message(poor_household(), sequence=1),
                message(assessment(income_score_a=300), sequence=2),
            ]
        )

        assert outcomes == [None, None]
        figures = await counters(sessionmaker, "243")
        assert figures["households.surveyed"] == 1
        assert figures["households.not_poor"] == 1
        assert "households.poor" not in figures
        assert await outbox_sequences(sessionmaker) == [1, 2]

    async def test_with_a_newer_version_first_ignores_the_older_one(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        await consumer(sessionmaker).handle_batch(
            [
                message(assessment(income_score_a=300), sequence=2),
                message(poor_household(), sequence=1),
                message(assessment(income_score_a=300), sequence=2),  # a duplicate, another id
            ]
        )

        figures = await counters(sessionmaker, "08707")
        assert figures["households.surveyed"] == 1
        assert figures["households.not_poor"] == 1
        assert await outbox_sequences(sessionmaker) == [1]

    async def test_continues_from_what_earlier_batches_stored(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        handle = consumer(sessionmaker)
        await handle.handle_batch([message(poor_household(), sequence=1)])
        moved = poor_household(commune_code="08710", unit_path=["26", "243", "08710"])

        await handle.handle_batch(
            [message(moved, sequence=2), message(poor_household(), sequence=1)]
        )

        assert await counters(sessionmaker, "08707") == {}
        assert (await counters(sessionmaker, "08710"))["households.poor"] == 1
        assert (await counters(sessionmaker, "26"))["households.poor"] == 1
        assert await outbox_sequences(sessionmaker) == [1]  # still poor: no change announced

    async def test_dead_letters_only_the_event_under_an_unknown_standard(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        others = [poor_household(assessment_id=uuid4(), household_id=uuid4()) for _ in range(3)]
        unknown = assessment(assessment_id=uuid4(), standard_id="VN-1999")

        outcomes = await consumer(sessionmaker).handle_batch(
            [
                message(others[0], sequence=1),
                message(unknown, sequence=1),
                message(others[1], sequence=1),
                message(others[2], sequence=1),
            ]
        )

        assert [type(outcome) for outcome in outcomes] == [
            type(None),
            PoisonMessage,
            type(None),
            type(None),
        ]
        assert (await counters(sessionmaker, "26"))["households.poor"] == 3

    async def test_with_populations_and_assessments_flags_communes_as_one_by_one_would(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        elsewhere = poor_household(
            assessment_id=uuid4(), commune_code="08710", unit_path=["26", "243", "08710"]
        )

        await consumer(sessionmaker).handle_batch(
            [
                message(poor_household(), sequence=1),
                message(population(10, 40), sequence=1, subject="p"),
                message(elsewhere, sequence=1),
            ]
        )

        assert "communes.missing_population" not in await counters(sessionmaker, "08707")
        assert (await counters(sessionmaker, "08710"))["communes.missing_population"] == 1
        assert (await counters(sessionmaker, "26"))["communes.missing_population"] == 1
