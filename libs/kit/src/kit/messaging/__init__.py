"""Messaging: the bus interface, its RabbitMQ and in-process implementations, outbox, consumer."""

from kit.messaging.bus import (
    BatchHandler,
    DeadLetter,
    IncomingMessage,
    MessageBus,
    MessageHandler,
    Outcome,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    QueueSpec,
    one_at_a_time,
)
from kit.messaging.consumer import BatchEventHandler, EventConsumer, EventHandler, define_inbox
from kit.messaging.memory import InProcessBus
from kit.messaging.outbox import (
    OutboxRelay,
    define_outbox,
    pending_count,
    stage,
    stage_many,
    unpublish,
)
from kit.messaging.rabbitmq import RabbitMQBus

__all__ = [
    "BatchEventHandler",
    "BatchHandler",
    "DeadLetter",
    "EventConsumer",
    "EventHandler",
    "InProcessBus",
    "IncomingMessage",
    "MessageBus",
    "MessageHandler",
    "OutboxRelay",
    "Outcome",
    "OutgoingMessage",
    "PoisonMessage",
    "PublishFailed",
    "QueueSpec",
    "RabbitMQBus",
    "define_inbox",
    "define_outbox",
    "one_at_a_time",
    "pending_count",
    "stage",
    "stage_many",
    "unpublish",
]
