"""The RabbitMQ bus (aio-pika): confirmed persistent publishing, quorum queues, dead letters.

The connection is robust: after a broker restart aio-pika reconnects and restores channels, the
declared topology and every consumer. `start()` never blocks on the broker, so an API keeps
accepting writes (into its outbox) while RabbitMQ is down.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from kit.db import utc_now
from kit.messaging.bus import (
    CONTENT_TYPE,
    BatchHandler,
    DeadLetter,
    IncomingMessage,
    MessageHandler,
    Outcome,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    QueueSpec,
    next_batch,
    one_at_a_time,
    outcomes_of,
    retry_delay,
)
from kit.messaging.topology import ALL_QUEUES, DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE

log = structlog.get_logger()

RETURN_WAIT_SECONDS = 10.0  # how long browsing a dead-letter queue waits for its messages back


class RabbitMQBus:
    def __init__(
        self,
        url: str,
        *,
        publish_timeout: float = 5.0,
        prefetch: int = 16,
        queues: Sequence[QueueSpec] = ALL_QUEUES,
    ) -> None:
        self._url = url
        self._publish_timeout = publish_timeout
        self._prefetch = prefetch
        self._queues = tuple(queues)
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._connected = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None
        self._consumers: list[tuple[QueueSpec, BatchHandler, int, float]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # batch loops and delayed requeues

    async def start(self) -> None:
        if self._connector is None:
            self._connector = asyncio.create_task(self._connect_until_up())

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 (public signature)
        """Wait until the first connection is up; TimeoutError after `timeout` seconds."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._connection is not None:
            await self._connection.close()

    async def publish(self, message: OutgoingMessage) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), self._publish_timeout)
            assert self._exchange is not None
            await self._exchange.publish(
                _to_amqp(message),
                routing_key=message.type,
                mandatory=True,
                timeout=self._publish_timeout,
            )
        except (TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as e:
            raise PublishFailed(f"{message.type} {message.message_id}: {e!r}") from e

    async def consume(self, queue: QueueSpec, handler: MessageHandler) -> None:
        await self.consume_batches(queue, one_at_a_time(handler), size=1, max_wait=0.0)

    async def consume_batches(
        self, queue: QueueSpec, handler: BatchHandler, *, size: int, max_wait: float
    ) -> None:
        self._consumers.append((queue, handler, size, max_wait))
        if self._connected.is_set():
            await self._start_consumer(queue, handler, size, max_wait)

    async def is_healthy(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def queue_depth(self, queue: QueueSpec) -> tuple[int, int] | None:
        """Messages ready in `queue` and in its dead-letter queue; None while disconnected."""
        if not self._connected.is_set() or not await self.is_healthy():
            return None
        assert self._connection is not None
        channel = await self._connection.channel()
        try:
            ready = await channel.declare_queue(queue.name, passive=True)
            dead = await channel.declare_queue(queue.dead_letter_queue, passive=True)
        finally:
            await channel.close()
        return (
            ready.declaration_result.message_count or 0,
            dead.declaration_result.message_count or 0,
        )

    async def dead_letters(self, queue: QueueSpec, *, limit: int = 100) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        async with self._browse(queue) as browser:
            while len(letters) < limit and (message := await browser.next()) is not None:
                letters.append(_dead_letter(queue, message))
        return letters

    async def replay_dead_letters(
        self, queue: QueueSpec, *, message_ids: Sequence[str] | None = None
    ) -> int:
        replayed = 0
        async with self._browse(queue) as browser:
            while (message := await browser.next()) is not None:
                if message_ids is not None and message.message_id not in message_ids:
                    continue  # left unacknowledged: back in the dead-letter queue on close
                # The default exchange routes by queue name: only the failed consumer sees it again.
                await browser.channel.default_exchange.publish(
                    _to_amqp(_outgoing(message)),
                    routing_key=queue.name,
                    mandatory=True,
                    timeout=self._publish_timeout,
                )
                await browser.remove(message)
                replayed += 1
        return replayed

    @contextlib.asynccontextmanager
    async def _browse(self, queue: QueueSpec) -> AsyncIterator["_DeadLetterBrowser"]:
        """Read a dead-letter queue without consuming it: what is not removed goes back on close.

        Returns once those messages are back, so a listing straight after this one sees them.
        """
        await asyncio.wait_for(self._connected.wait(), self._publish_timeout)
        assert self._connection is not None
        # With returns raising, a replayed message that is returned stays a dead letter.
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            dead_queue = await channel.declare_queue(queue.dead_letter_queue, passive=True)
            browser = _DeadLetterBrowser(
                channel, dead_queue, dead_queue.declaration_result.message_count or 0
            )
            yield browser
        finally:
            # Closing the channel returns the unacknowledged messages. (Not nack with requeue:
            # a quorum queue would count that as a failed delivery, and RabbitMQ 4 drops a
            # message past its default delivery limit of 20.)
            await channel.close()
        if browser.left:
            await self._until_ready(queue.dead_letter_queue, browser.present - browser.removed)

    async def _until_ready(self, queue_name: str, count: int) -> None:
        """Wait, for a while, until `queue_name` has `count` messages ready.

        A quorum queue takes back the messages of a closed channel after the close, usually at
        once but now and then (RabbitMQ 3.10) only some five seconds later.
        """
        assert self._connection is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETURN_WAIT_SECONDS
        channel = await self._connection.channel()
        try:
            while loop.time() < deadline:
                declared = await channel.declare_queue(queue_name, passive=True)
                if (declared.declaration_result.message_count or 0) >= count:
                    return
                await asyncio.sleep(0.01)
            log.warning("bus.dead_letters_not_back", queue=queue_name, expected=count)
        finally:
            await channel.close()

    async def _connect_until_up(self) -> None:
        delay = 0.5
        while True:
            try:
                connection = await aio_pika.connect_robust(self._url, timeout=5)
                break
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError) as error:
                log.warning("bus.connect_failed", error=repr(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self._connection = connection
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await declare_topology(channel, self._queues)
        self._connected.set()
        log.info("bus.connected")
        for queue, handler, size, max_wait in self._consumers:
            await self._start_consumer(queue, handler, size, max_wait)

    async def _start_consumer(
        self, spec: QueueSpec, handler: BatchHandler, size: int, max_wait: float
    ) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=max(self._prefetch, size))
        queue = await channel.declare_queue(spec.name, passive=True)
        # Deliveries wait here for the batch loop. After a reconnection the robust channel
        # restores the consumer; messages of the old channel still waiting here are handled,
        # but their acknowledgement fails (the channel is closed) and the broker redelivers them,
        # which the consumers' inboxes make harmless.
        ready: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

        async def on_message(message: AbstractIncomingMessage) -> None:
            ready.put_nowait(message)

        self._spawn(self._handle_batches(spec, ready, handler, size, max_wait))
        await queue.consume(on_message)

    async def _handle_batches(
        self,
        spec: QueueSpec,
        ready: "asyncio.Queue[AbstractIncomingMessage]",
        handler: BatchHandler,
        size: int,
        max_wait: float,
    ) -> None:
        while True:
            batch = await next_batch(ready, size=size, max_wait=max_wait)
            deliveries = [_delivery_count(message) for message in batch]
            outcomes = await outcomes_of(
                handler, [_incoming(m, n) for m, n in zip(batch, deliveries, strict=True)]
            )
            for message, count, outcome in zip(batch, deliveries, outcomes, strict=True):
                try:
                    await self._settle(spec, message, count, outcome)
                except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as error:
                    # The channel closed under us: the broker redelivers the message.
                    log.warning("message.settle_failed", queue=spec.name, error=repr(error))

    async def _settle(
        self,
        spec: QueueSpec,
        message: AbstractIncomingMessage,
        deliveries: int,
        outcome: Outcome,
    ) -> None:
        if outcome is None:
            await message.ack()
        elif isinstance(outcome, PoisonMessage):
            log.warning("message.rejected", queue=spec.name, reason=str(outcome))
            await message.reject(requeue=False)
        else:
            log.warning(
                "message.failed", queue=spec.name, error=repr(outcome), deliveries=deliveries + 1
            )
            # Requeued after a growing pause, without holding up the messages behind it.
            self._spawn(_requeue_later(message, retry_delay(deliveries + 1)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _requeue_later(message: AbstractIncomingMessage, delay: float) -> None:
    await asyncio.sleep(delay)
    try:
        await message.nack(requeue=True)  # dead-lettered past the delivery limit
    except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError) as error:
        log.warning("message.requeue_failed", error=repr(error))


def _delivery_count(message: AbstractIncomingMessage) -> int:
    count = message.headers.get("x-delivery-count")  # absent on the first delivery
    return count if isinstance(count, int) else 0


async def declare_topology(
    channel: AbstractChannel, queues: Sequence[QueueSpec]
) -> AbstractExchange:
    """Declare the events exchange, the dead-letter exchange and every consumer queue."""
    events = await channel.declare_exchange(
        EVENTS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead_letters = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.DIRECT, durable=True
    )
    for spec in queues:
        parking = await channel.declare_queue(
            spec.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await parking.bind(dead_letters, routing_key=spec.name)
        queue = await channel.declare_queue(
            spec.name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": spec.delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": spec.name,
            },
        )
        for key in spec.binding_keys:
            await queue.bind(events, routing_key=key)
    return events


class _DeadLetterBrowser:
    """The messages of a dead-letter queue, taken one by one and left unacknowledged."""

    def __init__(self, channel: AbstractChannel, queue: AbstractQueue, present: int) -> None:
        self.channel = channel
        self._queue = queue
        # Only the messages there now: a replayed message that fails again arrives at the end of
        # the queue while we browse, and taking it again would never finish.
        self.present = present
        self.taken = 0
        self.removed = 0

    @property
    def left(self) -> int:
        """Messages taken and not removed: they return to the queue when the channel closes."""
        return self.taken - self.removed

    async def next(self) -> AbstractIncomingMessage | None:
        if self.taken >= self.present:
            return None
        message = await self._queue.get(no_ack=False, fail=False)
        if message is not None:
            self.taken += 1
        return message

    async def remove(self, message: AbstractIncomingMessage) -> None:
        await message.ack()
        self.removed += 1


def _to_amqp(message: OutgoingMessage) -> aio_pika.Message:
    return aio_pika.Message(
        message.body,
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        timestamp=message.timestamp,
    )


def _incoming(message: AbstractIncomingMessage, deliveries: int) -> IncomingMessage:
    return IncomingMessage(
        body=message.body,
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        delivery_count=deliveries,
    )


def _outgoing(message: AbstractIncomingMessage) -> OutgoingMessage:
    return OutgoingMessage(
        body=message.body,
        message_id=message.message_id or "",
        type=message.type or "",
        correlation_id=message.correlation_id,
        timestamp=message.timestamp or utc_now(),
    )


def _dead_letter(queue: QueueSpec, message: AbstractIncomingMessage) -> DeadLetter:
    deaths = message.headers.get("x-death") or []
    first = deaths[0] if isinstance(deaths, list) and deaths else {}
    reason = str(first.get("reason", "unknown")) if isinstance(first, dict) else "unknown"
    return DeadLetter(
        queue=queue.name,
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        reason=reason,
        body=message.body.decode(errors="replace"),
    )
