"""The message bus interface shared by RabbitMQ and the in-process bus.

Both implementations give the same guarantees, so the embedded default behaves like deployment:

- `publish` returns only once the broker has taken responsibility for the message (publisher
  confirm); an unroutable message (no queue bound) or a timeout raises `PublishFailed`.
- A handler that returns acknowledges the message. One that raises `PoisonMessage` sends it to the
  queue's dead-letter queue at once. Any other exception requeues it; after the queue's delivery
  limit it is dead-lettered too.
- Dead letters can be listed and replayed into the queue they came from.

A consumer may take its messages in batches (`consume_batches`): up to `size` messages that are
ready, waiting at most `max_wait` seconds for more, handed over together. The handler says what
became of each one (acknowledged, dead-lettered or requeued, as above), and nothing is acknowledged
before the handler returns.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from kit.contracts import Envelope

CONTENT_TYPE = "application/json"

T = TypeVar("T")


class PublishFailed(Exception):
    """The broker did not confirm the message (unroutable, nacked, timed out or unreachable)."""


class PoisonMessage(Exception):
    """The message can never be handled (undecodable, invalid); dead-letter it without retrying."""


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A consumer's durable queue, the patterns it is bound with, and its delivery limit."""

    name: str
    binding_keys: tuple[str, ...]
    delivery_limit: int = 5  # redeliveries after the first attempt, as RabbitMQ counts them

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"

    def binds(self, routing_key: str) -> bool:
        return any(topic_matches(pattern, routing_key) for pattern in self.binding_keys)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A serialised envelope with the AMQP properties taken from it."""

    body: bytes
    message_id: str
    type: str
    correlation_id: str | None
    timestamp: datetime

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> "OutgoingMessage":
        return cls(
            body=envelope.model_dump_json().encode(),
            message_id=str(envelope.id),
            type=envelope.type,
            correlation_id=envelope.correlation_id,
            timestamp=envelope.occurred_at,
        )


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    body: bytes
    message_id: str | None
    type: str | None
    correlation_id: str | None
    delivery_count: int = 0  # earlier deliveries of this message to this queue
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    queue: str
    message_id: str | None
    type: str | None
    correlation_id: str | None
    reason: str
    body: str


MessageHandler = Callable[[IncomingMessage], Awaitable[None]]

Outcome = Exception | None
"""What became of one message of a batch: None acknowledges it; `PoisonMessage` dead-letters it;
any other exception requeues it (dead-lettered past the delivery limit)."""

BatchHandler = Callable[[Sequence[IncomingMessage]], Awaitable[Sequence[Outcome]]]
"""Handles messages together; returns one outcome per message, in their order."""


class MessageBus(Protocol):
    async def start(self) -> None:
        """Connect and declare the topology; safe to call when already started."""

    async def close(self) -> None: ...

    async def publish(self, message: OutgoingMessage) -> None:
        """Publish persistently and mandatorily; return once confirmed, else raise PublishFailed."""

    async def consume(self, queue: QueueSpec, handler: MessageHandler) -> None:
        """Start delivering `queue`'s messages to `handler` in the background, one at a time."""

    async def consume_batches(
        self, queue: QueueSpec, handler: BatchHandler, *, size: int, max_wait: float
    ) -> None:
        """Deliver `queue`'s messages to `handler` in batches of up to `size`.

        A batch is what is ready, topped up for at most `max_wait` seconds while it is not full.
        """

    async def is_healthy(self) -> bool: ...

    async def queue_depth(self, queue: QueueSpec) -> tuple[int, int] | None:
        """Messages ready in `queue` and in its dead-letter queue; None when unknown now."""

    async def dead_letters(self, queue: QueueSpec, *, limit: int = 100) -> list[DeadLetter]: ...

    async def replay_dead_letters(
        self, queue: QueueSpec, *, message_ids: Sequence[str] | None = None
    ) -> int:
        """Move dead letters (all, or those with `message_ids`) back into `queue`; the count."""


def one_at_a_time(handler: MessageHandler) -> BatchHandler:
    """A `MessageHandler` as a `BatchHandler`: each message handled on its own, in order."""

    async def handle(messages: Sequence[IncomingMessage]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for message in messages:
            try:
                await handler(message)
            except Exception as error:
                outcomes.append(error)
            else:
                outcomes.append(None)
        return outcomes

    return handle


async def next_batch(ready: "asyncio.Queue[T]", *, size: int, max_wait: float) -> list[T]:
    """Wait for one item of `ready`, then take up to `size` in all, waiting at most `max_wait`."""
    first = await ready.get()
    return [first, *await top_up(ready, size - 1, max_wait)]


async def top_up(ready: "asyncio.Queue[T]", size: int, max_wait: float) -> list[T]:
    """Up to `size` items of `ready`: those there now, and more for at most `max_wait` seconds."""
    batch: list[T] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait
    while len(batch) < size:
        if not ready.empty():
            batch.append(ready.get_nowait())
            continue
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            # An item taken as the wait times out is not lost: wait_for returns it (3.11+).
            batch.append(await asyncio.wait_for(ready.get(), remaining))
        except TimeoutError:
            break
    return batch


async def outcomes_of(handler: BatchHandler, messages: Sequence[IncomingMessage]) -> list[Outcome]:
    """The handler's outcomes; all failed if it raised or did not give one per message."""
    try:
        outcomes = list(await handler(messages))
    except Exception as error:
        return [error] * len(messages)
    if len(outcomes) != len(messages):
        wrong = RuntimeError(f"{len(outcomes)} outcomes for {len(messages)} messages")
        return [wrong] * len(messages)
    return outcomes


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` is zero or more words."""
    return _match(_words(pattern), _words(routing_key))


def _words(key: str) -> list[str]:
    # As RabbitMQ splits keys: the empty key has no words (so `*` does not match it), while
    # "a." has two, the second empty.
    return key.split(".") if key else []


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return head in ("*", words[0]) and _match(rest, words[1:])


def retry_delay(deliveries: int) -> float:
    """Seconds to wait before redelivering a message that failed `deliveries` times."""
    return float(min(0.05 * 2 ** (deliveries - 1), 2.0))
