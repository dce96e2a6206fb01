"""Exchange and queue names of the whole platform, declared by every process that touches the bus.

Every process declares every consumer queue, so a message published before its consumer first
started is kept rather than returned as unroutable.
"""

from kit.messaging.bus import QueueSpec

EVENTS_EXCHANGE = "events"  # topic, durable; routing key = envelope type
DEAD_LETTER_EXCHANGE = "events.dlx"  # direct; routing key = the failing queue's name

INDICATORS_QUEUE = QueueSpec(name="indicators.events", binding_keys=("households.#",))
# Every event: subscriptions may name any type of the catalogue, including types added later.
NOTIFICATIONS_QUEUE = QueueSpec(name="notifications.events", binding_keys=("#",))


def identity_queue(service: str) -> QueueSpec:
    """The service's queue of identity events (`kit.auth.revocations`), one per service: its API
    replicas consume it as competing consumers and share what they record in its database."""
    return QueueSpec(name=f"{service}.identity", binding_keys=("identity.#",))


IDENTITY_QUEUES = tuple(
    identity_queue(service) for service in ("households", "indicators", "notifications")
)

ALL_QUEUES: tuple[QueueSpec, ...] = (INDICATORS_QUEUE, NOTIFICATIONS_QUEUE, *IDENTITY_QUEUES)
