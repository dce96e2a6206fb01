"""Messaging: the bus interface, its RabbitMQ and in-process implementations, outbox, consumer."""

from kit.messaging.bus import (
    DeadLetter,
    IncomingMessage,
    MessageBus,
    MessageHandler,
    OutgoingMessage,
    PoisonMessage,
    PublishFailed,
    QueueSpec,
)
from kit.messaging.consumer import EventConsumer, EventHandler, define_inbox
from kit.messaging.memory import InProcessBus
from kit.messaging.outbox import OutboxRelay, define_outbox, pending_count, stage
from kit.messaging.rabbitmq import RabbitMQBus

__all__ = [
    "DeadLetter",
    "EventConsumer",
    "EventHandler",
    "InProcessBus",
    "IncomingMessage",
    "MessageBus",
    "MessageHandler",
    "OutboxRelay",
    "OutgoingMessage",
    "PoisonMessage",
    "PublishFailed",
    "QueueSpec",
    "RabbitMQBus",
    "define_inbox",
    "define_outbox",
    "pending_count",
    "stage",
]
