"""What the indicators service announces, single events or batch messages.

A survey received as its own event (an interactive write) announces what it changed as its own
event; the surveys of a batch message, and a recalculation's households, announce theirs in
batch messages, so that a province's million first classifications cost the bus a message per
batch. Order is kept: consecutive batched announcements go together, a single one between them
stays where it was.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter

from kit.contracts import Envelope, Event

PRODUCER = "indicators"


@dataclass(frozen=True, slots=True)
class Announcement:
    """One event to announce, as it would be published alone."""

    event: Event
    subject: str
    sequence: int
    correlation_id: str | None
    batched: bool  # of a batch message's survey or a recalculation


# The batch message of consecutive batched announcements (two or more), and its subject.
BatchOf = Callable[[Sequence[Announcement]], tuple[Event, str]]


def envelopes(announcements: Sequence[Announcement], batch_of: BatchOf) -> list[Envelope]:
    """The announcements' envelopes in order: each alone, except that consecutive batched ones go
    together in the message `batch_of` makes (written once, so its `sequence` is 1; each item
    carries its own)."""
    wrapped = []
    for batched, run in groupby(announcements, key=attrgetter("batched")):
        some = list(run)
        if batched and len(some) > 1:
            event, subject = batch_of(some)
            wrapped.append(_wrap(event, subject, 1, some[0].correlation_id))
        else:
            wrapped += [_wrap(a.event, a.subject, a.sequence, a.correlation_id) for a in some]
    return wrapped


def _wrap(event: Event, subject: str, sequence: int, correlation_id: str | None) -> Envelope:
    return Envelope.wrap(
        event,
        producer=PRODUCER,
        subject=subject,
        sequence=sequence,
        correlation_id=correlation_id,
    )
