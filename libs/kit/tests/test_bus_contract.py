"""One behavioural contract, run against both `MessageBus` implementations.

The embedded default runs on `InProcessBus`, deployment on `RabbitMQBus`; the platform relies on
them behaving alike (see the `kit.messaging.bus` docstring). Every test here runs on both. Each test
uses a queue and routing keys of its own, so RabbitMQ tests can share one virtual host.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aio_pika
import pytest

from kit.contracts import Envelope
from kit.messaging import (
    IncomingMessage,
    InProcessBus,
    MessageBus,
    Outcome,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    QueueSpec,
    RabbitMQBus,
)

DELIVERY_LIMIT = 2
Eventually = Callable[..., Awaitable[None]]  # the `eventually` fixture


@dataclass
class Broker:
    """Opens buses of one implementation and says when one has nothing left in flight."""

    name: str
    rabbitmq_url: str | None = None
    buses: list[MessageBus] = field(default_factory=list)

    async def open(self, *queues: QueueSpec) -> MessageBus:
        """A started bus that declares `queues`, closed when the test ends."""
        bus: MessageBus
        if self.rabbitmq_url is None:
            bus = InProcessBus(queues=queues)
            await bus.start()
        else:
            rabbit = RabbitMQBus(self.rabbitmq_url, queues=queues, publish_timeout=5.0)
            await rabbit.start()
            await rabbit.wait_connected(10.0)
            bus = rabbit
        self.buses.append(bus)
        return bus

    async def settle(self, bus: MessageBus, queue: QueueSpec) -> int:
        """Stop `bus` once nothing is in flight; the messages left waiting in `queue`.

        Whatever a consumer has not acknowledged goes back to its queue, so a message that was
        handled but not acknowledged, or is waiting for redelivery, counts as left.
        """
        if isinstance(bus, InProcessBus):
            await bus.drained()  # returns once nothing is queued, running or due for redelivery
            await bus.close()
            return 0
        await bus.close()
        assert self.rabbitmq_url is not None
        async with await aio_pika.connect(self.rabbitmq_url) as connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue.name, passive=True)
            return declared.declaration_result.message_count or 0

    async def close(self) -> None:
        for bus in self.buses:
            await bus.close()


@pytest.fixture(params=["in-process", pytest.param("rabbitmq", marks=pytest.mark.infra)])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    if request.param == "rabbitmq":
        broker = Broker("rabbitmq", rabbitmq_url=request.getfixturevalue("rabbitmq_url"))
    else:
        broker = Broker("in-process")
    yield broker
    await broker.close()


@pytest.fixture
def queue() -> QueueSpec:
    """A queue of the test's own, bound to every routing key under a prefix of its own."""
    tag = uuid.uuid4().hex[:12]
    return QueueSpec(name=f"test.{tag}", binding_keys=(f"t{tag}.#",), delivery_limit=DELIVERY_LIMIT)


def message_for(queue: QueueSpec, n: int = 1, *, correlation_id: str = "req-1") -> OutgoingMessage:
    """A message routed to `queue` (its type is under the queue's binding prefix)."""
    prefix = queue.binding_keys[0].removesuffix(".#")
    envelope = Envelope(
        type=f"{prefix}.thing.happened.v1",
        schema_version=1,
        producer="tests",
        correlation_id=correlation_id,
        subject=f"subject-{n}",
        sequence=n,
        data={"n": n},
    )
    return OutgoingMessage.from_envelope(envelope)


Behaviour = Callable[[IncomingMessage], Awaitable[None]]


class Recorder:
    """A handler that records every delivery, then behaves as told (by default: succeeds)."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.deliveries: list[IncomingMessage] = []
        self._behaviour = behaviour

    async def __call__(self, message: IncomingMessage) -> None:
        self.deliveries.append(message)
        if self._behaviour is not None:
            await self._behaviour(message)

    def of(self, message: OutgoingMessage) -> list[IncomingMessage]:
        return [d for d in self.deliveries if d.message_id == message.message_id]

    def handled(self, *messages: OutgoingMessage) -> Callable[[], bool]:
        return lambda: all(self.of(message) for message in messages)


async def reject_as_poison(message: IncomingMessage) -> None:
    raise PoisonMessage("cannot be handled")


async def always_fail(message: IncomingMessage) -> None:
    raise RuntimeError("a transient failure that never clears")


async def fail_first_delivery(message: IncomingMessage) -> None:
    if message.delivery_count == 0:
        raise RuntimeError("a transient failure")


def ids(messages: Sequence[OutgoingMessage]) -> list[str]:
    return sorted(message.message_id for message in messages)


class TestPublish:
    async def test_a_published_message_reaches_the_bound_queue_with_its_properties_intact(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        handler = Recorder()
        await bus.consume(queue, handler)
        sent = message_for(queue, correlation_id="req-42")

        await bus.publish(sent)

        await eventually(handler.handled(sent))
        [received] = handler.deliveries
        assert received.body == sent.body
        assert received.message_id == sent.message_id
        assert received.type == sent.type
        assert received.correlation_id == "req-42"
        assert received.delivery_count == 0

    async def test_a_message_published_before_anyone_consumes_waits_in_its_queue(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        sent = message_for(queue)
        await bus.publish(sent)
        handler = Recorder()

        await bus.consume(queue, handler)

        await eventually(handler.handled(sent))

    async def test_a_message_no_queue_is_bound_for_raises_publish_failed(
        self, broker: Broker, queue: QueueSpec
    ) -> None:
        bus = await broker.open(queue)
        unroutable = message_for(
            QueueSpec(name="nobody", binding_keys=(f"nobody{uuid.uuid4().hex}.#",))
        )

        with pytest.raises(PublishFailed):
            await bus.publish(unroutable)

    async def test_a_message_reaches_every_queue_bound_for_it(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        other = QueueSpec(name=f"{queue.name}.other", binding_keys=queue.binding_keys)
        bus = await broker.open(queue, other)
        first, second = Recorder(), Recorder()
        await bus.consume(queue, first)
        await bus.consume(other, second)
        sent = message_for(queue)

        await bus.publish(sent)

        await eventually(lambda: bool(first.of(sent) and second.of(sent)))


class TestAcknowledgement:
    async def test_a_handled_message_is_acknowledged_and_not_delivered_again(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        handler = Recorder()
        await bus.consume(queue, handler)
        sent = message_for(queue)

        await bus.publish(sent)
        await eventually(handler.handled(sent))

        assert await bus.dead_letters(queue) == []
        assert await broker.settle(bus, queue) == 0
        assert len(handler.of(sent)) == 1

    async def test_a_message_that_fails_once_is_handled_on_redelivery(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        handler = Recorder(fail_first_delivery)
        await bus.consume(queue, handler)
        sent = message_for(queue)

        await bus.publish(sent)

        await eventually(lambda: len(handler.of(sent)) == 2)
        assert [d.delivery_count for d in handler.of(sent)] == [0, 1]
        assert await bus.dead_letters(queue) == []
        assert await broker.settle(bus, queue) == 0
        assert len(handler.of(sent)) == 2


class TestDeadLetters:
    async def test_a_poison_message_is_dead_lettered_at_once_and_later_messages_keep_flowing(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        poison, good = message_for(queue, 1), message_for(queue, 2)

        async def poison_only_the_first(message: IncomingMessage) -> None:
            if message.message_id == poison.message_id:
                raise PoisonMessage("undecodable")

        bus = await broker.open(queue)
        handler = Recorder(poison_only_the_first)
        await bus.consume(queue, handler)

        await bus.publish(poison)
        await bus.publish(good)

        await eventually(handler.handled(good))
        await eventually(lambda: _count(bus.dead_letters(queue), 1))
        [letter] = await bus.dead_letters(queue)
        assert letter.queue == queue.name
        assert letter.message_id == poison.message_id
        assert letter.type == poison.type
        assert letter.correlation_id == poison.correlation_id
        assert letter.body == poison.body.decode()
        assert "reject" in letter.reason
        assert [d.delivery_count for d in handler.of(poison)] == [0]

    async def test_a_message_that_always_fails_is_dead_lettered_after_the_delivery_limit(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        handler = Recorder(always_fail)
        await bus.consume(queue, handler)
        sent = message_for(queue)

        await bus.publish(sent)

        await eventually(lambda: _count(bus.dead_letters(queue), 1))
        [letter] = await bus.dead_letters(queue)
        assert letter.message_id == sent.message_id
        assert "limit" in letter.reason
        assert await broker.settle(bus, queue) == 0
        assert [d.delivery_count for d in handler.of(sent)] == list(range(DELIVERY_LIMIT + 1))

    async def test_listing_dead_letters_does_not_consume_them(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        await bus.consume(queue, Recorder(reject_as_poison))
        sent = [message_for(queue, n) for n in (1, 2, 3)]
        for message in sent:
            await bus.publish(message)
        await eventually(lambda: _count(bus.dead_letters(queue), 3))

        listings = [sorted(await bus.dead_letters(queue), key=_by_id) for _ in range(5)]

        assert all(listing == listings[0] for listing in listings)
        assert sorted(letter.message_id or "" for letter in listings[0]) == ids(sent)
        assert len(await bus.dead_letters(queue, limit=2)) == 2

    async def test_replaying_all_dead_letters_puts_them_back_and_they_are_handled(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        refusing = True

        async def refuse_while_refusing(message: IncomingMessage) -> None:
            if refusing:
                raise PoisonMessage("not yet")

        bus = await broker.open(queue)
        handler = Recorder(refuse_while_refusing)
        await bus.consume(queue, handler)
        sent = [message_for(queue, n) for n in (1, 2)]
        for message in sent:
            await bus.publish(message)
        await eventually(lambda: _count(bus.dead_letters(queue), 2))
        refusing = False

        replayed = await bus.replay_dead_letters(queue)

        assert replayed == 2
        await eventually(lambda: all(len(handler.of(message)) == 2 for message in sent))
        assert await bus.dead_letters(queue) == []
        assert await broker.settle(bus, queue) == 0

    async def test_replaying_dead_letters_by_message_id_replays_only_those(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        refused: set[str] = set()

        async def refuse_first_delivery(message: IncomingMessage) -> None:
            if message.message_id not in refused:
                refused.add(message.message_id or "")
                raise PoisonMessage("not yet")

        bus = await broker.open(queue)
        handler = Recorder(refuse_first_delivery)
        await bus.consume(queue, handler)
        chosen, left = message_for(queue, 1), message_for(queue, 2)
        for message in (chosen, left):
            await bus.publish(message)
        await eventually(lambda: _count(bus.dead_letters(queue), 2))

        replayed = await bus.replay_dead_letters(queue, message_ids=[chosen.message_id])

        assert replayed == 1
        await eventually(lambda: len(handler.of(chosen)) == 2)
        [letter] = await bus.dead_letters(queue)
        assert letter.message_id == left.message_id
        assert len(handler.of(left)) == 1

    async def test_a_replayed_message_that_fails_again_is_dead_lettered_again(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        bus = await broker.open(queue)
        handler = Recorder(reject_as_poison)
        await bus.consume(queue, handler)
        sent = message_for(queue)
        await bus.publish(sent)
        await eventually(lambda: _count(bus.dead_letters(queue), 1))

        assert await bus.replay_dead_letters(queue) == 1

        await eventually(lambda: len(handler.of(sent)) == 2)
        await eventually(lambda: _count(bus.dead_letters(queue), 1))
        [letter] = await bus.dead_letters(queue)
        assert letter.message_id == sent.message_id

    async def test_replaying_while_the_consumer_still_rejects_replays_each_letter_once(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        """Letters that come back during the replay wait for the next one (no endless loop)."""
        bus = await broker.open(queue)
        handler = Recorder(reject_as_poison)
        await bus.consume(queue, handler)
        sent = [message_for(queue, n) for n in range(1, 21)]
        for message in sent:
            await bus.publish(message)
        await eventually(lambda: _count(bus.dead_letters(queue), len(sent)))

        async with asyncio.timeout(10):
            replayed = await bus.replay_dead_letters(queue)

        assert replayed == len(sent)
        await eventually(lambda: all(len(handler.of(message)) == 2 for message in sent))
        await eventually(lambda: _count(bus.dead_letters(queue), len(sent)))


class TestBatches:
    async def test_ready_messages_come_in_batches_and_each_outcome_applies_to_its_message(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        good, poison, flaky = message_for(queue, 1), message_for(queue, 2), message_for(queue, 3)
        rest = [message_for(queue, n) for n in range(4, 8)]
        batches: list[list[IncomingMessage]] = []

        async def handle(messages: Sequence[IncomingMessage]) -> list[Outcome]:
            batches.append(list(messages))
            outcomes: list[Outcome] = []
            for message in messages:
                if message.message_id == poison.message_id:
                    outcomes.append(PoisonMessage("undecodable"))
                elif message.message_id == flaky.message_id and message.delivery_count == 0:
                    outcomes.append(RuntimeError("a transient failure"))
                else:
                    outcomes.append(None)
            return outcomes

        bus = await broker.open(queue)
        for message in (good, poison, flaky, *rest):
            await bus.publish(message)

        await bus.consume_batches(queue, handle, size=3, max_wait=0.5)

        delivered = lambda m: [d for b in batches for d in b if d.message_id == m.message_id]  # noqa: E731
        await eventually(lambda: len(delivered(flaky)) == 2)
        await eventually(lambda: _count(bus.dead_letters(queue), 1))
        assert max(len(batch) for batch in batches) == 3
        assert len(batches[0]) == 3  # all were ready
        assert [d.delivery_count for d in delivered(flaky)] == [0, 1]
        assert all(len(delivered(m)) == 1 for m in (good, poison, *rest))
        [letter] = await bus.dead_letters(queue)
        assert letter.message_id == poison.message_id
        assert await broker.settle(bus, queue) == 0

    async def test_a_batch_handler_that_raises_requeues_the_whole_batch(
        self, broker: Broker, queue: QueueSpec, eventually: Eventually
    ) -> None:
        sent = [message_for(queue, n) for n in (1, 2)]
        batches: list[list[str | None]] = []

        async def handle(messages: Sequence[IncomingMessage]) -> list[Outcome]:
            batches.append([m.message_id for m in messages])
            if len(batches) == 1:
                raise RuntimeError("the database went away")
            return [None] * len(messages)

        bus = await broker.open(queue)
        for message in sent:
            await bus.publish(message)
        await bus.consume_batches(queue, handle, size=2, max_wait=0.5)

        await eventually(lambda: sorted(i for b in batches[1:] for i in b if i) == ids(sent))
        assert sorted(i or "" for i in batches[0]) == ids(sent)
        assert await bus.dead_letters(queue) == []
        assert await broker.settle(bus, queue) == 0


class TestRabbitMQBusWhenTheBrokerIsDown:
    async def test_publishing_raises_publish_failed_within_the_publish_timeout(self) -> None:
        bus = RabbitMQBus("amqp://guest:guest@127.0.0.1:1/", publish_timeout=0.3)
        await bus.start()
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with asyncio.timeout(5):  # a hang fails here rather than blocking the run
                with pytest.raises(PublishFailed):
                    await bus.publish(message_for(QueueSpec(name="q", binding_keys=("t.#",))))
            assert loop.time() - started < 2
            assert not await bus.is_healthy()
        finally:
            await bus.close()


async def _count(letters: Awaitable[Sequence[object]], expected: int) -> bool:
    return len(await letters) == expected


def _by_id(letter: object) -> str:
    return str(getattr(letter, "message_id", ""))


class TestInProcessBusAcrossAStop:
    """The in-process bus keeps nothing across a stop: it says which published messages a queue
    still holds, for the embedded platform to hand back to its outboxes."""

    async def test_a_message_no_consumer_has_taken_is_unsettled(self, queue: QueueSpec) -> None:
        bus = InProcessBus(queues=(queue,))
        waiting = message_for(queue)
        await bus.publish(waiting)

        assert bus.unsettled() == {waiting.message_id}

    async def test_acknowledged_and_dead_lettered_messages_are_settled(
        self, queue: QueueSpec
    ) -> None:
        bus = InProcessBus(queues=(queue,))
        handled, poison = message_for(queue, 1), message_for(queue, 2)

        async def handle(message: IncomingMessage) -> None:
            if message.message_id == poison.message_id:
                raise PoisonMessage("never valid")

        await bus.consume(queue, handle)
        try:
            await bus.publish(handled)
            await bus.publish(poison)
            await bus.drained()
        finally:
            await bus.close()

        assert bus.unsettled() == set()
        assert [letter.message_id for letter in await bus.dead_letters(queue)] == [
            poison.message_id
        ]

    async def test_a_message_waiting_for_its_redelivery_is_unsettled(
        self, queue: QueueSpec
    ) -> None:
        bus = InProcessBus(queues=(queue,))
        failing = message_for(queue)
        delivered = asyncio.Event()

        async def fail(message: IncomingMessage) -> None:
            delivered.set()
            raise RuntimeError("the database is away")

        await bus.consume(queue, fail)
        try:
            await bus.publish(failing)
            await delivered.wait()  # failing once; its redelivery is due 50 ms later
            await asyncio.sleep(0)
            assert bus.unsettled() == {failing.message_id}
        finally:
            await bus.close()
