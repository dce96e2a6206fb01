"""The RabbitMQ bus (aio-pika): confirmed persistent publishing, quorum queues, dead letters.

The bus keeps its own connection: when the connection or one of its channels is lost (a broker
restart, a network cut, a missed heartbeat), it connects again and sets everything up afresh on
the new connection: the topology, the publishing channel and one new channel per consumer, so no
consumer is left registered on a channel nobody reads. Every attempt is bounded in time and
retried whatever it raises: against a broker restarting after a kill, aiormq's handshake can hang
past its own timeout or raise StopAsyncIteration, and a loop that expects only connection
errors then ends for good (docs/reliability.md). `start()` never blocks on the broker, so an API
keeps accepting writes (into its outbox) while RabbitMQ is down.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
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
T = TypeVar("T")

RETURN_WAIT_SECONDS = 10.0  # how long browsing a dead-letter queue waits for its messages back
RECONNECT_MAX_DELAY = 2.0  # seconds between attempts while the broker is down (restarts take 5-10)
CONNECT_SECONDS = 5.0  # an attempt is abandoned a second after this
SET_UP_SECONDS = 30.0  # the topology, the publishing channel and every consumer's
# Errors meaning the connection or a channel is gone (the next connection takes over).
CONNECTION_ERRORS = (aio_pika.exceptions.AMQPError, ConnectionError, OSError, TimeoutError)


@dataclass(eq=False)
class _Consumer:
    spec: QueueSpec
    handler: BatchHandler
    size: int
    max_wait: float
    # Deliveries wait here for the consumer's batch loop, which lives as long as the bus.
    ready: "asyncio.Queue[AbstractIncomingMessage]" = field(default_factory=asyncio.Queue)


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
        self._connection: AbstractConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()  # the current connection (or one of its channels) is gone
        self._supervisor: asyncio.Task[None] | None = None
        self._consumers: list[_Consumer] = []
        self._tasks: set[asyncio.Task[None]] = set()  # batch loops and delayed requeues

    async def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._stay_connected())

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 (public signature)
        """Wait until the first connection is up; TimeoutError after `timeout` seconds."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def publish(self, message: OutgoingMessage) -> None:
        try:
            if not self._connected.is_set():
                # Only then: `wait_for` costs a task and a timer, for each of a relay's messages.
                await asyncio.wait_for(self._connected.wait(), self._publish_timeout)
            if (exchange := self._exchange) is None:
                raise ConnectionError("the connection was lost")
            await exchange.publish(
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
        consumer = _Consumer(queue, handler, size, max_wait)
        self._consumers.append(consumer)
        self._spawn(self._handle_batches(consumer))
        if self._connected.is_set():
            assert self._connection is not None
            try:
                await self._subscribe(self._connection, consumer)
            except Exception as error:  # whatever it is, the next connection tries again
                log.warning("bus.subscribe_failed", queue=queue.name, error=repr(error))
                self._lost.set()  # the next connection subscribes every consumer

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

    async def _stay_connected(self) -> None:
        """Connect, serve until the connection or a channel of it is lost, and connect again."""
        delay = 0.5
        while True:
            try:
                connection = await _bounded(aio_pika.connect(self._url, timeout=CONNECT_SECONDS))
            except Exception as error:
                # Whatever an attempt raises, the bus tries again: aiormq lets even
                # StopAsyncIteration out of a handshake that a restarting broker cuts short.
                log.warning("bus.connect_failed", error=repr(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
                continue
            self._lost = lost = asyncio.Event()
            connection.close_callbacks.add(_setting(lost))
            try:
                await asyncio.wait_for(self._set_up(connection), SET_UP_SECONDS)
                delay = 0.5
                log.info("bus.connected")
                await lost.wait()
                log.warning("bus.connection_lost")
            except Exception as error:
                # E.g. a restarted broker whose queues are not available yet: wait and retry.
                log.warning("bus.set_up_failed", error=repr(error), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_DELAY)
            finally:
                self._connected.clear()
                self._connection = self._exchange = None
                for consumer in self._consumers:
                    _drop_waiting(consumer.ready)  # the broker delivers them again
                with contextlib.suppress(Exception):
                    await _bounded(connection.close())

    async def _set_up(self, connection: AbstractConnection) -> None:
        lost = self._lost
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        channel.close_callbacks.add(_setting(lost))
        self._exchange = await declare_topology(channel, self._queues)
        self._connection = connection
        # The list as it grows: a consumer added while this runs is subscribed here too.
        for consumer in self._consumers:
            await self._subscribe(connection, consumer)
        self._connected.set()

    async def _subscribe(self, connection: AbstractConnection, consumer: _Consumer) -> None:
        """Deliver `consumer`'s queue into its `ready` queue, on a channel of its own."""
        lost = self._lost
        channel = await connection.channel()
        channel.close_callbacks.add(_setting(lost))
        await channel.set_qos(prefetch_count=max(self._prefetch, consumer.size))
        queue = await channel.declare_queue(consumer.spec.name, passive=True)

        async def on_message(message: AbstractIncomingMessage) -> None:
            consumer.ready.put_nowait(message)

        await queue.consume(on_message)

    async def _handle_batches(self, consumer: _Consumer) -> None:
        spec = consumer.spec
        while True:
            batch = await next_batch(consumer.ready, size=consumer.size, max_wait=consumer.max_wait)
            deliveries = [_delivery_count(message) for message in batch]
            outcomes = await outcomes_of(
                consumer.handler,
                [_incoming(m, n) for m, n in zip(batch, deliveries, strict=True)],
            )
            unsettled: list[BaseException] = []
            for message, count, outcome in zip(batch, deliveries, outcomes, strict=True):
                try:
                    await self._settle(spec, message, count, outcome)
                except (*CONNECTION_ERRORS, RuntimeError) as error:
                    # The channel closed under us: the broker redelivers the message, and the
                    # consumers' inboxes make handling it twice harmless.
                    unsettled.append(error)
            if unsettled:
                log.warning(
                    "message.settle_failed",
                    queue=spec.name,
                    messages=len(unsettled),
                    error=repr(unsettled[0]),
                )

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


def _setting(event: asyncio.Event) -> Callable[..., None]:
    """A close callback that sets `event` (the connection's own, not the one current later)."""
    return lambda *_: event.set()


async def _bounded(work: Coroutine[Any, Any, T]) -> T:
    """`work`, or TimeoutError after CONNECT_SECONDS (and a second's grace), in any case.

    Not `asyncio.wait_for`, which awaits the work's end after cancelling it: aiormq's connect, given
    a socket a restarting broker accepted and never answers, hangs in its own clean-up (seen after
    a broker kill, minutes long). A late attempt is cancelled and left to end by itself.
    """
    attempt = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({attempt}, timeout=CONNECT_SECONDS + 1)
    finally:
        if not attempt.done():
            attempt.cancel()
            _ABANDONED.add(attempt)
            attempt.add_done_callback(_forget)
    if not done:
        raise TimeoutError(f"no answer from the broker within {CONNECT_SECONDS + 1:.0f} s")
    return attempt.result()


_ABANDONED: set["asyncio.Future[Any]"] = set()  # kept referenced until they end


def _forget(attempt: "asyncio.Future[Any]") -> None:
    _ABANDONED.discard(attempt)
    if attempt.cancelled() or attempt.exception() is not None:
        return
    connection = attempt.result()
    if isinstance(connection, AbstractConnection):  # it connected after all: let it go
        _ABANDONED.add(closing := asyncio.ensure_future(connection.close()))
        closing.add_done_callback(_ABANDONED.discard)


def _drop_waiting(ready: "asyncio.Queue[AbstractIncomingMessage]") -> None:
    while not ready.empty():
        ready.get_nowait()


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
