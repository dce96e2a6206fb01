"""The RabbitMQ bus (aio-pika): confirmed persistent publishing, quorum queues, dead letters.

The connection is robust: after a broker restart aio-pika reconnects and restores channels, the
declared topology and every consumer. `start()` never blocks on the broker, so an API keeps
accepting writes (into its outbox) while RabbitMQ is down.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

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
    DeadLetter,
    IncomingMessage,
    MessageHandler,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    QueueSpec,
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
        self._consumers: list[tuple[QueueSpec, MessageHandler]] = []

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
        self._consumers.append((queue, handler))
        if self._connected.is_set():
            await self._start_consumer(queue, handler)

    async def is_healthy(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

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
        for queue, handler in self._consumers:
            await self._start_consumer(queue, handler)

    async def _start_consumer(self, spec: QueueSpec, handler: MessageHandler) -> None:
        assert self._connection is not None
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await channel.declare_queue(spec.name, passive=True)

        async def on_message(message: AbstractIncomingMessage) -> None:
            count = message.headers.get("x-delivery-count")  # absent on the first delivery
            deliveries = count if isinstance(count, int) else 0
            try:
                await handler(_incoming(message, deliveries))
            except PoisonMessage as poison:
                log.warning("message.rejected", queue=spec.name, reason=str(poison))
                await message.reject(requeue=False)
            except Exception as error:
                log.warning(
                    "message.failed", queue=spec.name, error=repr(error), deliveries=deliveries + 1
                )
                await asyncio.sleep(retry_delay(deliveries + 1))
                await message.nack(requeue=True)  # dead-lettered past the delivery limit
            else:
                await message.ack()

        await queue.consume(on_message)


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
