"""The RabbitMQ bus across lost connections: its consumers come back, and nothing is given up.

The consuming bus reaches the broker through a TCP proxy the test cuts while messages are
published and handled, as a broker restart or a network fault cuts the connection. The broker
takes back whatever was delivered and not yet acknowledged and (RabbitMQ 3.x) counts it as a
delivery, so a bus whose consumer did not come back, or came back on a channel nobody reads,
would leave messages unhandled or dead-lettered here.
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import pytest

from kit.contracts import Envelope
from kit.messaging import IncomingMessage, Outcome, OutgoingMessage, QueueSpec, RabbitMQBus
from kit.testing import TcpProxy, free_port

pytestmark = pytest.mark.infra

CUTS = 20
MESSAGES_PER_ROUND = 150
Eventually = Callable[..., Awaitable[None]]


def message_for(queue: QueueSpec, n: int) -> OutgoingMessage:
    prefix = queue.binding_keys[0].removesuffix(".#")
    envelope = Envelope(
        type=f"{prefix}.thing.happened.v1",
        schema_version=1,
        producer="tests",
        correlation_id="reconnect",
        subject=f"subject-{n}",
        sequence=n,
        data={"n": n},
    )
    return OutgoingMessage.from_envelope(envelope)


class SlowConsumer:
    """Handles batches a little slowly, so that deliveries are in flight when the line is cut."""

    def __init__(self) -> None:
        self.handled: Counter[str] = Counter()

    async def __call__(self, batch: Sequence[IncomingMessage]) -> list[Outcome]:
        await asyncio.sleep(0.02)
        self.handled.update(message.message_id for message in batch)
        return [None] * len(batch)


def most_of_them_handled(consumer: SlowConsumer, published: int) -> Callable[[], bool]:
    return lambda: len(consumer.handled) > published - MESSAGES_PER_ROUND // 2


@pytest.fixture
async def proxy(rabbitmq_url: str) -> AsyncIterator[TcpProxy]:
    port = urlsplit(rabbitmq_url).port or 5672
    proxy = TcpProxy(free_port(), port)
    await proxy.start()
    yield proxy
    await proxy.close()


async def test_a_consumer_keeps_receiving_across_twenty_lost_connections(
    rabbitmq_url: str, proxy: TcpProxy, eventually: Eventually
) -> None:
    tag = uuid.uuid4().hex[:12]
    queue = QueueSpec(name=f"test.{tag}", binding_keys=(f"t{tag}.#",), delivery_limit=5)
    through_proxy = urlsplit(rabbitmq_url)._replace(
        netloc=f"guest:guest@127.0.0.1:{proxy.listen_port}"
    )
    publisher = RabbitMQBus(rabbitmq_url, queues=[queue])
    subscriber = RabbitMQBus(through_proxy.geturl(), queues=[queue])
    consumer = SlowConsumer()
    published: list[OutgoingMessage] = []
    try:
        await publisher.start()
        await subscriber.start()
        await publisher.wait_connected(10)
        await subscriber.consume_batches(queue, consumer, size=50, max_wait=0.005)
        await subscriber.wait_connected(10)
        for cut in range(CUTS):
            round_ = [
                message_for(queue, cut * MESSAGES_PER_ROUND + n + 1)
                for n in range(MESSAGES_PER_ROUND)
            ]
            for message in round_:
                await publisher.publish(message)
            published += round_
            # Cut while about half of this round is still to be handled.
            await eventually(most_of_them_handled(consumer, len(published)))
            proxy.cut()
            await asyncio.sleep(0.1)
            proxy.restore()

        # After the last cut, a message published now still reaches the consumer.
        published.append(last := message_for(queue, CUTS * MESSAGES_PER_ROUND + 1))
        await publisher.publish(last)
        await eventually(
            lambda: all(consumer.handled[m.message_id] for m in published),
            within=30,
            what="every message handled after the cuts",
        )

        async def nothing_waiting_or_dead_lettered() -> bool:
            return await publisher.queue_depth(queue) == (0, 0)

        await eventually(nothing_waiting_or_dead_lettered, within=10)
    finally:
        await subscriber.close()
        await publisher.close()


async def test_the_bus_connects_after_attempts_that_fail_in_any_way_or_never_answer(
    rabbitmq_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What was seen against a broker restarting after a kill: a handshake cut short raising
    # StopAsyncIteration out of aiormq, and an attempt that hung past its own timeout.
    failures: list[BaseException | None] = [StopAsyncIteration(), ConnectionResetError(), None]
    connect = aio_pika.connect

    async def unlucky_connect(*arguments: Any, **options: Any) -> Any:
        if failures:
            failure = failures.pop(0)
            if failure is None:
                await asyncio.Event().wait()  # never answers
            raise failure
        return await connect(*arguments, **options)

    monkeypatch.setattr(aio_pika, "connect", unlucky_connect)
    bus = RabbitMQBus(rabbitmq_url, queues=[])
    try:
        await bus.start()
        await bus.wait_connected(30)
        assert failures == []
        assert await bus.is_healthy()
    finally:
        await bus.close()
