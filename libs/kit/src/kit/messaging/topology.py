"""Exchange and queue names of the whole platform, declared by every process that touches the bus.

Every process declares every consumer queue, so a message published before its consumer first
started is kept rather than returned as unroutable.
"""

from kit.messaging.bus import QueueSpec

EVENTS_EXCHANGE = "events"  # topic, durable; routing key = envelope type
DEAD_LETTER_EXCHANGE = "events.dlx"  # direct; routing key = the failing queue's name

INDICATORS_QUEUE = QueueSpec(name="indicators.events", binding_keys=("households.#",))
NOTIFICATIONS_QUEUE = QueueSpec(
    name="notifications.events", binding_keys=("indicators.household.class_changed.*",)
)

ALL_QUEUES: tuple[QueueSpec, ...] = (INDICATORS_QUEUE, NOTIFICATIONS_QUEUE)
