"""AMQP topic matching, as the in-process bus uses it to route like RabbitMQ's topic exchange."""

import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from kit.contracts import PUBLISHED, Event
from kit.messaging.bus import QueueSpec, topic_matches
from kit.messaging.topology import ALL_QUEUES, INDICATORS_QUEUE, NOTIFICATIONS_QUEUE

MATCHES = [
    ("households.assessment.recorded.v1", "households.assessment.recorded.v1"),
    ("*", "households"),
    ("households.*", "households.assessment"),
    ("*.assessment.*.v1", "households.assessment.recorded.v1"),
    ("#", "households"),
    ("#", "households.assessment.recorded.v1"),
    ("#", ""),
    ("households.#", "households"),
    ("households.#", "households.assessment"),
    ("households.#", "households.assessment.recorded.v1"),
    ("#.v1", "v1"),
    ("#.v1", "households.assessment.recorded.v1"),
    ("households.#.v1", "households.v1"),
    ("households.#.v1", "households.assessment.recorded.v1"),
    ("#.assessment.#", "households.assessment.recorded.v1"),
    ("*.#", "households"),
    ("#.*", "households.assessment"),
    ("indicators.household.class_changed.*", "indicators.household.class_changed.v1"),
    ("", ""),
    ("a.*", "a."),
    ("a.*.b", "a..b"),
]
MISMATCHES = [
    ("households.assessment.recorded.v1", "households.assessment.recorded.v2"),
    ("households.assessment.recorded.v1", "households.assessment.recorded"),
    ("households.assessment", "households.assessment.recorded"),
    ("households.assessment", "households.assessmentx"),
    ("households.#", "householdsx.a"),
    ("households.#", "householdsx"),
    ("households.#", "indicators.households.x"),
    ("*", "households.assessment"),
    ("*", ""),
    ("households.*", "households"),
    ("households.*", "households.assessment.recorded"),
    ("*.assessment.*.v1", "households.assessment.v1"),
    ("#.v1", "households.assessment.recorded.v2"),
    ("#.v1", "households.v1.extra"),
    ("households.#.v1", "households.assessment.recorded.v2"),
    ("*.#", ""),
    ("indicators.household.class_changed.*", "indicators.household.class_changed.v1.x"),
    ("", "a"),
    ("a.*", "a"),
]


@pytest.mark.parametrize(("pattern", "routing_key"), MATCHES)
def test_a_pattern_matches_the_routing_keys_amqp_routes_to_it(
    pattern: str, routing_key: str
) -> None:
    assert topic_matches(pattern, routing_key)


@pytest.mark.parametrize(("pattern", "routing_key"), MISMATCHES)
def test_a_pattern_does_not_match_other_routing_keys(pattern: str, routing_key: str) -> None:
    assert not topic_matches(pattern, routing_key)


def test_star_matches_exactly_one_word() -> None:
    keys = ("a.c", "a.b.c", "a.b.b.c")

    assert [topic_matches("a.*.c", key) for key in keys] == [False, True, False]


def test_hash_matches_zero_or_more_words() -> None:
    keys = ("a.c", "a.b.c", "a.b.b.c", "a.b")

    assert [topic_matches("a.#.c", key) for key in keys] == [True, True, True, False]


def test_a_queue_binds_a_key_when_any_of_its_patterns_matches() -> None:
    spec = QueueSpec(name="q", binding_keys=("a.*", "b.#"))

    assert spec.binds("a.x")
    assert spec.binds("b.x.y")
    assert not spec.binds("a.x.y")
    assert not spec.binds("c.x")


def test_a_queue_names_its_dead_letter_queue_after_itself() -> None:
    spec = QueueSpec(name="indicators.events", binding_keys=())

    assert spec.dead_letter_queue == "indicators.events.dlq"


@pytest.mark.parametrize("event_class", PUBLISHED, ids=lambda cls: cls.__name__)
def test_every_published_event_type_is_routed_to_some_consumer_queue(
    event_class: type[Event],
) -> None:
    assert any(queue.binds(event_class.TYPE) for queue in ALL_QUEUES)


def test_indicators_receive_household_events_and_notifications_receive_every_event() -> None:
    assert INDICATORS_QUEUE.binds("households.assessment.recorded.v1")
    assert INDICATORS_QUEUE.binds("households.assessments.recorded.v1")  # a batch of them
    assert INDICATORS_QUEUE.binds("households.population.recorded.v1")
    assert not INDICATORS_QUEUE.binds("indicators.household.class_changed.v1")
    # Subscriptions may name any type of the catalogue, a type added later included.
    assert NOTIFICATIONS_QUEUE.binds("indicators.household.class_changed.v1")
    assert NOTIFICATIONS_QUEUE.binds("households.assessment.recorded.v1")
    assert NOTIFICATIONS_QUEUE.binds("indicators.target.off_track.v1")
    assert NOTIFICATIONS_QUEUE.binds("households.assessments.recorded.v1")


@pytest.mark.infra
async def test_rabbitmq_routes_exactly_as_topic_matches_predicts(rabbitmq_url: str) -> None:
    """Every pattern and key of the tables above, bound and published on a real topic exchange."""
    patterns = sorted({pattern for pattern, _ in MATCHES + MISMATCHES})
    keys = sorted({key for _, key in MATCHES + MISMATCHES})
    routed: dict[str, list[str]] = {}
    async with await aio_pika.connect(rabbitmq_url) as connection:
        channel = await connection.channel()  # publisher confirms: routed once publish returns
        exchange = await channel.declare_exchange(
            f"topics-{uuid.uuid4().hex}", aio_pika.ExchangeType.TOPIC, auto_delete=True
        )
        queues: dict[str, AbstractQueue] = {}
        for pattern in patterns:
            queues[pattern] = await channel.declare_queue(exclusive=True)
            await queues[pattern].bind(exchange, routing_key=pattern)
        for key in keys:
            await exchange.publish(aio_pika.Message(key.encode()), routing_key=key)
        for pattern, queue in queues.items():
            routed[pattern] = [message.body.decode() async for message in _drain(queue)]

    predicted = {
        pattern: [key for key in keys if topic_matches(pattern, key)] for pattern in patterns
    }
    assert routed == predicted


async def _drain(queue: AbstractQueue) -> AsyncIterator[AbstractIncomingMessage]:
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        yield message
