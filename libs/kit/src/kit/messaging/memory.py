"""The in-process bus: RabbitMQ's semantics without a server, for the embedded default and tests.

Messages travel as bytes with the same properties as on AMQP, so decoding, poison handling,
redelivery and dead-lettering run through exactly the code paths they take in deployment.
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from kit.db import utc_now
from kit.messaging.bus import (
    BatchHandler,
    DeadLetter,
    IncomingMessage,
    MessageHandler,
    Outcome,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    QueueSpec,
    one_at_a_time,
    outcomes_of,
    retry_delay,
    top_up,
)
from kit.messaging.topology import ALL_QUEUES

log = structlog.get_logger()


@dataclass
class _Queue:
    spec: QueueSpec
    ready: "asyncio.Queue[tuple[OutgoingMessage, int]]" = field(default_factory=asyncio.Queue)
    dead: list[DeadLetter] = field(default_factory=list)
    unacked: int = 0
    consumed: bool = False  # a consumer takes from it (only those can drain)


class InProcessBus:
    """A `MessageBus` inside one event loop. Not durable across restarts: the outbox is, and
    `unsettled()` says which published messages a queue still holds, for the platform to hand
    back to its outboxes when it stops (a Ctrl-C must not lose what was published but not yet
    handled)."""

    def __init__(self, queues: Sequence[QueueSpec] = ALL_QUEUES) -> None:
        self._queues = {spec.name: _Queue(spec) for spec in queues}
        # Per message id, the queues where it waits, is being handled or awaits redelivery.
        self._outstanding: Counter[str] = Counter()
        self._consumers: list[asyncio.Task[None]] = []
        self._progress = asyncio.Event()  # set whenever a delivery finishes
        self.available = True  # tests switch it off to play a broker outage

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        for task in self._consumers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._consumers.clear()

    async def publish(self, message: OutgoingMessage) -> None:
        if not self.available:
            raise PublishFailed("in-process bus is unavailable")
        targets = [queue for queue in self._queues.values() if queue.spec.binds(message.type)]
        if not targets:
            raise PublishFailed(f"no queue is bound for {message.type!r} (message returned)")
        for queue in targets:
            queue.ready.put_nowait((message, 0))
            self._outstanding[message.message_id] += 1

    def unsettled(self) -> set[str]:
        """Ids of the published messages some queue has not acknowledged or dead-lettered."""
        return {message_id for message_id, queues in self._outstanding.items() if queues > 0}

    async def consume(self, queue: QueueSpec, handler: MessageHandler) -> None:
        await self.consume_batches(queue, one_at_a_time(handler), size=1, max_wait=0.0)

    async def consume_batches(
        self, queue: QueueSpec, handler: BatchHandler, *, size: int, max_wait: float
    ) -> None:
        state = self._queues.setdefault(queue.name, _Queue(queue))
        state.consumed = True
        task = asyncio.create_task(self._deliver(state, handler, size=size, max_wait=max_wait))
        self._consumers.append(task)

    async def is_healthy(self) -> bool:
        return self.available

    async def queue_depth(self, queue: QueueSpec) -> tuple[int, int] | None:
        state = self._queues.get(queue.name)
        return None if state is None else (state.ready.qsize(), len(state.dead))

    async def dead_letters(self, queue: QueueSpec, *, limit: int = 100) -> list[DeadLetter]:
        return list(self._queues[queue.name].dead[:limit])

    async def replay_dead_letters(
        self, queue: QueueSpec, *, message_ids: Sequence[str] | None = None
    ) -> int:
        state = self._queues[queue.name]
        chosen = [d for d in state.dead if message_ids is None or d.message_id in message_ids]
        for letter in chosen:
            state.dead.remove(letter)
            state.ready.put_nowait((_revive(letter), 0))
            self._outstanding[letter.message_id or ""] += 1
        return len(chosen)

    async def drained(self) -> None:
        """Wait until every queue a consumer takes from is empty and no handler is running (for
        tests and demos); a queue nobody consumes here (another service's, in a test) would never
        empty."""
        while any(q.consumed and (q.ready.qsize() or q.unacked) for q in self._queues.values()):
            # Only a finished delivery can leave the bus idle (a redelivery due later counts as
            # unacknowledged until it is back in its queue).
            self._progress.clear()
            await self._progress.wait()

    async def _deliver(
        self, queue: _Queue, handler: BatchHandler, *, size: int, max_wait: float
    ) -> None:
        while True:
            first = await queue.ready.get()
            queue.unacked += 1  # at once: `drained()` must never find a message nowhere
            batch = [first, *await top_up(queue.ready, size - 1, max_wait)]
            queue.unacked += len(batch) - 1
            outcomes = await outcomes_of(
                handler, [_incoming(message, deliveries) for message, deliveries in batch]
            )
            try:
                for (message, deliveries), outcome in zip(batch, outcomes, strict=True):
                    self._settle(queue, message, deliveries, outcome)
            finally:
                queue.unacked -= len(batch)
                self._progress.set()

    def _settle(
        self, queue: _Queue, message: OutgoingMessage, deliveries: int, outcome: Outcome
    ) -> None:
        if outcome is not None and not isinstance(outcome, PoisonMessage):
            if deliveries + 1 <= queue.spec.delivery_limit:
                self._requeue_later(queue, message, deliveries + 1)
                return  # still outstanding
        # Acknowledged, or dead-lettered: settled either way.
        self._outstanding[message.message_id] -= 1
        if self._outstanding[message.message_id] <= 0:
            del self._outstanding[message.message_id]
        if isinstance(outcome, PoisonMessage):
            self._dead_letter(queue, message, f"rejected: {outcome}")
        elif outcome is not None:
            self._dead_letter(queue, message, f"delivery limit reached: {outcome!r}")

    def _requeue_later(self, queue: _Queue, message: OutgoingMessage, deliveries: int) -> None:
        # A short, growing pause, as a transient failure (a locked database) needs time to clear.
        queue.unacked += 1

        def requeue() -> None:
            queue.unacked -= 1
            queue.ready.put_nowait((message, deliveries))

        asyncio.get_running_loop().call_later(retry_delay(deliveries), requeue)

    def _dead_letter(self, queue: _Queue, message: OutgoingMessage, reason: str) -> None:
        log.warning(
            "message.dead_lettered",
            queue=queue.spec.name,
            message_id=message.message_id,
            reason=reason,
        )
        queue.dead.append(
            DeadLetter(
                queue=queue.spec.name,
                message_id=message.message_id,
                type=message.type,
                correlation_id=message.correlation_id,
                reason=reason,
                body=message.body.decode(errors="replace"),
            )
        )


def _incoming(message: OutgoingMessage, deliveries: int) -> IncomingMessage:
    return IncomingMessage(
        body=message.body,
        message_id=message.message_id,
        type=message.type,
        correlation_id=message.correlation_id,
        delivery_count=deliveries,
    )


def _revive(letter: DeadLetter) -> OutgoingMessage:
    return OutgoingMessage(
        body=letter.body.encode(),
        message_id=letter.message_id or "",
        type=letter.type or "",
        correlation_id=letter.correlation_id,
        timestamp=utc_now(),
    )
