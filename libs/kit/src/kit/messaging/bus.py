"""The message bus interface shared by RabbitMQ and the in-process bus.

Both implementations give the same guarantees, so the embedded default behaves like deployment:

- `publish` returns only once the broker has taken responsibility for the message (publisher
  confirm); an unroutable message (no queue bound) or a timeout raises `PublishFailed`.
- A handler that returns acknowledges the message. One that raises `PoisonMessage` sends it to the
  queue's dead-letter queue at once. Any other exception requeues it; after the queue's delivery
  limit it is dead-lettered too.
- Dead letters can be listed and replayed into the queue they came from.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from kit.contracts import Envelope

CONTENT_TYPE = "application/json"


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


class MessageBus(Protocol):
    async def start(self) -> None:
        """Connect and declare the topology; safe to call when already started."""

    async def close(self) -> None: ...

    async def publish(self, message: OutgoingMessage) -> None:
        """Publish persistently and mandatorily; return once confirmed, else raise PublishFailed."""

    async def consume(self, queue: QueueSpec, handler: MessageHandler) -> None:
        """Start delivering `queue`'s messages to `handler` in the background."""

    async def is_healthy(self) -> bool: ...

    async def dead_letters(self, queue: QueueSpec, *, limit: int = 100) -> list[DeadLetter]: ...

    async def replay_dead_letters(
        self, queue: QueueSpec, *, message_ids: Sequence[str] | None = None
    ) -> int:
        """Move dead letters (all, or those with `message_ids`) back into `queue`; the count."""


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
