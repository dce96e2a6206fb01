"""What the indicators service announces, single events or batch messages.

A survey applied alone (an interactive write, as it usually arrives) announces what it changed as
its own event; surveys applied together (a batch message's, single events delivered together
from a backlog) and a recalculation's households announce theirs in batch messages, so that a
province's million first classifications, or a backlog after an outage, cost the bus a message
per batch rather than one per household. Order is kept: consecutive batched announcements go
together, a single one between them stays where it was. A batch message carries its first
item's correlation id; an item from another request names its own.
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
    batched: bool  # applied with others (a batch, a backlog) or by a recalculation


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


def own_correlation_id(announcement: Announcement, batch: Sequence[Announcement]) -> str | None:
    """An item's correlation id where its batch message's (the first item's) is not its own."""
    own = announcement.correlation_id
    return None if own == batch[0].correlation_id else own


def _wrap(event: Event, subject: str, sequence: int, correlation_id: str | None) -> Envelope:
    return Envelope.wrap(
        event,
        producer=PRODUCER,
        subject=subject,
        sequence=sequence,
        correlation_id=correlation_id,
    )
