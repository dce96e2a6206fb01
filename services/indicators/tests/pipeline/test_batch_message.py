"""`households.assessments.recorded.v1`, a bulk import's batch of surveys in one message, gives
exactly what the surveys' single events give: the same classifications, counters and class
changes, stale versions skipped alike."""

from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.classification.testing import assessment, surveys
from indicators.db import outbox
from indicators.figures.models import UnitFigure
from indicators.handlers import consumer
from indicators.models import metadata
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    AssessmentRecordedV1,
    AssessmentsRecordedV1,
    VersionedAssessment,
)
from kit.messaging import IncomingMessage, InProcessBus, PoisonMessage
from kit.messaging.bus import OutgoingMessage
from kit.messaging.topology import INDICATORS_QUEUE

Survey = tuple[AssessmentRecordedV1, int]


def incoming(
    event: Event, *, subject: str, sequence: int, correlation_id: str | None = None
) -> IncomingMessage:
    envelope = Envelope.wrap(
        event,
        producer="households",
        subject=subject,
        sequence=sequence,
        correlation_id=correlation_id,
    )
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=correlation_id,
    )


def single_events(items: list[Survey], *, requests: bool = False) -> list[IncomingMessage]:
    """One event per survey; with `requests`, each from a request of its own."""
    return [
        incoming(
            facts,
            subject=str(facts.assessment_id),
            sequence=version,
            correlation_id=f"request-{number}" if requests else None,
        )
        for number, (facts, version) in enumerate(items)
    ]


def batch_messages(items: list[Survey], size: int) -> list[IncomingMessage]:
    """The surveys in messages of up to `size`, in the same order."""
    import_id = uuid4()
    return [
        incoming(
            AssessmentsRecordedV1(
                assessments=[
                    VersionedAssessment(sequence=version, assessment=facts)
                    for facts, version in items[start : start + size]
                ]
            ),
            subject=f"import:{import_id}",
            sequence=start // size + 1,
        )
        for start in range(0, len(items), size)
    ]


LEFT_BEHIND = "indicators.household.left_behind.v1"
CLASS_CHANGES = "indicators.household.classes_changed.v1"
LEFT_BEHIND_TOGETHER = "indicators.households.left_behind.v1"


async def state(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """What the surveys left behind: counters, classifications, copies and class changes (a
    batch message's changes as the single events they stand for)."""
    async with sessionmaker() as session:
        figures = (await session.exec(select(UnitFigure))).all()
        classified = (await session.exec(select(HouseholdClassification))).all()
        copies = (await session.exec(select(AssessmentCopy))).all()
        staged = (await session.exec(select(outbox.c.envelope).order_by(outbox.c.position))).all()
    announced = [event for document in staged for event in as_single_events(document)]
    return {
        "counters": {
            (row.unit_code, row.metric): (row.value, row.key_sum)
            for row in figures
            if row.value or row.key_sum
        },
        "classifications": {
            row.assessment_id: (row.household_class, row.revision, row.unit_path, row.result)
            for row in classified
        },
        "copies": {row.assessment_id: (row.sequence, row.facts) for row in copies},
        "announced": [
            (subject, sequence, data)
            for type_, subject, sequence, data in announced
            if type_ != LEFT_BEHIND
        ],
        # Entries onto the left-behind lists, staged after the batch's class changes: the same
        # events per subject, in the same order (sequence), whatever the interleaving of types.
        "left_behind": sorted(
            (subject, sequence, data)
            for type_, subject, sequence, data in announced
            if type_ == LEFT_BEHIND
        ),
    }


def as_single_events(document: dict[str, Any]) -> list[tuple[str, str, int, dict[str, Any]]]:
    """A staged event as (type, subject, sequence, data); a batch message as its items' events."""
    data = document["data"]
    if document["type"] == CLASS_CHANGES:
        return [
            (
                "indicators.household.class_changed.v1",
                f"{item['change']['household_id']}:{item['change']['round_id']}",
                item["sequence"],
                item["change"],
            )
            for item in data["changes"]
        ]
    if document["type"] == LEFT_BEHIND_TOGETHER:
        return [
            (
                LEFT_BEHIND,
                f"left_behind:{item['household']['household_id']}:{item['household']['round_id']}",
                item["sequence"],
                item["household"],
            )
            for item in data["households"]
        ]
    return [(document["type"], document["subject"], document["sequence"], data)]


async def staged_types(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessionmaker() as session:
        staged = (await session.exec(select(outbox.c.envelope).order_by(outbox.c.position))).all()
    return [document["type"] for document in staged]


async def emptied(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.kw["bind"].begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)


async def handle_in_batches(
    sessionmaker: async_sessionmaker[AsyncSession], messages: list[IncomingMessage], size: int
) -> None:
    handle = consumer(sessionmaker)
    for start in range(0, len(messages), size):
        outcomes = await handle.handle_batch(messages[start : start + size])
        assert not any(outcomes)


@pytest.mark.parametrize(("seed", "per_message"), [(1, 1000), (2, 7)])
async def test_batch_messages_give_what_the_single_events_give(
    sessionmaker: async_sessionmaker[AsyncSession], seed: int, per_message: int
) -> None:
    items = surveys(seed, households=40)  # later versions often first: some are stale
    for message in single_events(items):
        await consumer(sessionmaker)(message)
    one_by_one = await state(sessionmaker)
    await emptied(sessionmaker)

    await handle_in_batches(sessionmaker, batch_messages(items, per_message), size=3)

    assert await state(sessionmaker) == one_by_one
    assert one_by_one["announced"]  # there were class changes to compare
    assert one_by_one["left_behind"]  # and entries onto left-behind lists
    assert len(one_by_one["copies"]) == 40


async def test_a_batch_messages_changes_are_announced_in_batch_messages_and_a_single_events_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A province's million first classifications cost the bus a message per batch, not one per
    household; a survey sent as its own event (an interactive write) still announces alone."""
    items = surveys(8, households=40)
    for message in single_events(items):
        await consumer(sessionmaker)(message)
    alone = await staged_types(sessionmaker)
    await emptied(sessionmaker)

    await handle_in_batches(sessionmaker, batch_messages(items, 1000), size=1)
    together = await staged_types(sessionmaker)

    assert set(alone) == {"indicators.household.class_changed.v1", LEFT_BEHIND}
    assert alone.count("indicators.household.class_changed.v1") > 1
    assert alone.count(LEFT_BEHIND) > 1
    assert together == [CLASS_CHANGES, LEFT_BEHIND_TOGETHER]


async def test_single_events_delivered_together_announce_together_each_naming_its_request(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A backlog of interactive writes (the bus or the worker was down) is delivered in batches:
    their changes cost the bus a message per batch, and each still names the request it comes
    from, as its single event would."""
    items = surveys(9, households=40)
    for message in single_events(items, requests=True):
        await consumer(sessionmaker)(message)
    alone = await announced_with_requests(sessionmaker)
    await emptied(sessionmaker)

    await handle_in_batches(sessionmaker, single_events(items, requests=True), size=len(items))

    assert await staged_types(sessionmaker) == [CLASS_CHANGES, LEFT_BEHIND_TOGETHER]
    together = await announced_with_requests(sessionmaker)
    assert together == alone
    assert len({request for *_, request in together}) > 1  # from several requests


async def announced_with_requests(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str, int, str | None]]:
    """(type, subject, sequence, request) of each announced change or entry, a batch message's
    items each with its own request or else the message's."""
    async with sessionmaker() as session:
        staged = (await session.exec(select(outbox.c.envelope).order_by(outbox.c.position))).all()
    announced = []
    for document in staged:
        items = document["data"].get("changes") or document["data"].get("households") or [{}]
        events = as_single_events(document)
        for (type_, subject, sequence, _), item in zip(events, items, strict=True):
            request = item.get("correlation_id") or document["correlation_id"]
            announced.append((type_, subject, sequence, request))
    # Per kind: a batch's entries are staged after its changes, single events interleave them.
    return sorted(announced, key=lambda event: event[0] == LEFT_BEHIND)


async def test_surveys_applied_in_several_rounds_of_statements_give_the_same(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message of thousands is applied a few thousand assessments at a time; versions of one
    assessment on both sides of a boundary still apply in order."""
    items = surveys(6, households=30)
    for message in single_events(items):
        await consumer(sessionmaker)(message)
    one_by_one = await state(sessionmaker)
    await emptied(sessionmaker)
    monkeypatch.setattr(classification_service, "APPLIED_AT_ONCE", 4)

    await handle_in_batches(sessionmaker, batch_messages(items, 1000), size=1)

    assert await state(sessionmaker) == one_by_one


async def test_single_events_and_batch_messages_in_one_delivery_apply_in_delivery_order(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    items = surveys(3, households=30)
    for message in single_events(items):
        await consumer(sessionmaker)(message)
    one_by_one = await state(sessionmaker)
    await emptied(sessionmaker)
    # Alternately a single event and a batch message of the next four surveys.
    mixed: list[IncomingMessage] = []
    position = 0
    while position < len(items):
        mixed += single_events(items[position : position + 1])
        mixed += batch_messages(items[position + 1 : position + 5], 4)
        position += 5

    await handle_in_batches(sessionmaker, mixed, size=10)

    assert await state(sessionmaker) == one_by_one


async def test_a_survey_older_than_the_applied_version_is_skipped_as_its_event_would_be(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    newer = assessment(income_score_a=300)  # not poor
    older = assessment(income_score_a=90, internet_use=False, devices=[])
    other = assessment(assessment_id=uuid4(), household_id=uuid4(), household_code="26-2")
    handle = consumer(sessionmaker)
    await handle(single_events([(newer, 2)])[0])
    before = await state(sessionmaker)

    [message] = batch_messages([(older, 1), (newer, 2), (other, 1)], 10)
    await handle(message)

    after = await state(sessionmaker)
    assert (
        after["classifications"][newer.assessment_id]
        == (before["classifications"][newer.assessment_id])
    )
    assert after["copies"][newer.assessment_id] == before["copies"][newer.assessment_id]
    assert other.assessment_id in after["classifications"]
    assert after["counters"][("26", "households.surveyed")][0] == 2
    assert len(after["announced"]) == 2  # the first class of each household, nothing else


async def test_a_batch_message_delivered_again_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    [message] = batch_messages(surveys(4, households=10), 100)
    handle = consumer(sessionmaker)
    await handle(message)
    once = await state(sessionmaker)

    await handle(message)  # redelivered: the same message id
    await handle.handle_batch([message, message])

    assert await state(sessionmaker) == once


async def test_a_batch_message_with_a_survey_under_an_unknown_standard_is_poison_as_a_whole(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A message is acknowledged or dead-lettered whole: its good surveys wait with it in the
    dead-letter queue, to be replayed once the standard ships."""
    good = assessment(assessment_id=uuid4(), household_id=uuid4())
    unknown = assessment(assessment_id=uuid4(), standard_id="VN-1999")
    [message] = batch_messages([(good, 1), (unknown, 1)], 10)
    alone = single_events([(assessment(assessment_id=uuid4(), household_id=uuid4()), 1)])

    outcomes = await consumer(sessionmaker).handle_batch([message, *alone])

    assert isinstance(outcomes[0], PoisonMessage)
    assert outcomes[1] is None
    classified: set[UUID] = set((await state(sessionmaker))["classifications"])
    assert good.assessment_id not in classified
    assert len(classified) == 1


async def test_the_embedded_bus_routes_a_batch_message_to_the_indicators_consumer(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    items = surveys(5, households=8)
    [message] = batch_messages(items, 100)
    envelope = Envelope.model_validate_json(message.body)
    bus = InProcessBus()
    await bus.consume_batches(
        INDICATORS_QUEUE, consumer(sessionmaker).handle_batch, size=10, max_wait=0.0
    )
    try:
        await bus.publish(OutgoingMessage.from_envelope(envelope))
        await bus.drained()
    finally:
        await bus.close()

    assert len((await state(sessionmaker))["classifications"]) == 8
    assert await bus.dead_letters(INDICATORS_QUEUE) == []
