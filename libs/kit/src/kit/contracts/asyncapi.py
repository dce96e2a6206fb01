"""The event catalogue as an AsyncAPI 3.0 document, generated from the contracts and the topology.

    python -m kit.contracts --asyncapi > docs/asyncapi.json

One channel per event type on the durable topic exchange `events` (its address is the routing
key, which is the type); one channel per consumer queue (durable quorum queues, bound by pattern,
with a delivery limit and a dead-letter queue); a `send` operation per type (its producer) and a
`receive` operation per queue and type routed to it. Each message is the envelope with that
type's data, with the AMQP properties every message carries and an example.
"""

import re
from collections.abc import Iterable
from typing import Any

from kit.contracts import PUBLISHED, Envelope, Event
from kit.contracts.examples import EXAMPLES, SUBJECTS
from kit.messaging.bus import CONTENT_TYPE, QueueSpec
from kit.messaging.topology import ALL_QUEUES, DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE

JsonObject = dict[str, Any]
BINDING_VERSION = "0.3.0"
_SCHEMAS = "#/components/schemas/"
# Who publishes each type: the first word of the type (`households.…`, `identity.…`).
_PRODUCERS = {"households": "households", "indicators": "indicators", "identity": "gateway"}

DESCRIPTION = """\
Facts the platform's services publish on RabbitMQ, for the services that consume them and for
integrators who bind a queue of their own.

Every message goes to the durable **topic** exchange `events` with the event type as routing key
(`households.assessment.recorded.v1`): bind with patterns such as `households.#`. Messages are
persistent (delivery mode 2), published with confirms and `mandatory` through a transactional
outbox, so a fact is published exactly when its write committed — at least once: consumers keep
the ids they applied (or the per-subject `sequence`) and acknowledge after their own commit.
Each consumer queue is a durable quorum queue with `x-delivery-limit`; a message that keeps
failing goes through the `events.dlx` exchange to `<queue>.dlq`, where an admin can see and
replay it (`GET /api/v1/admin/{service}/dead-letters`).

The body is the JSON envelope (`id`, `type`, `schema_version`, `occurred_at`, `producer`,
`correlation_id`, `actor`, `subject`, `sequence`, `data`); `data` is the type's payload. A new
version of a type is published beside the old one (`….v2`), never in its place.
"""


def asyncapi() -> JsonObject:
    schemas: JsonObject = {}
    envelope = _lift(Envelope.model_json_schema(), schemas)
    schemas["Envelope"] = envelope
    channels: JsonObject = {}
    operations: JsonObject = {}
    messages: JsonObject = {}
    for event in PUBLISHED:
        name = event.__name__
        schemas[name] = _lift(event.model_json_schema(), schemas)
        messages[name] = _message(event)
        channels[name] = {
            "address": event.TYPE,
            "title": event.TYPE,
            "description": (event.__doc__ or "").strip(),
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": _exchange_binding()},
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{_producer(event)} publishes {event.TYPE}",
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
            "bindings": {
                "amqp": {"deliveryMode": 2, "mandatory": True, "bindingVersion": BINDING_VERSION}
            },
        }
    for queue in ALL_QUEUES:
        routed = [event for event in PUBLISHED if _routed(event.TYPE, queue.binding_keys)]
        key = _channel_key(queue.name)
        channels[key] = {
            "address": queue.name,
            "title": queue.name,
            "description": _queue_description(queue),
            "messages": {
                event.__name__: {"$ref": f"#/components/messages/{event.__name__}"}
                for event in routed
            },
            "bindings": {"amqp": _queue_binding(queue)},
        }
        for event in routed:
            operations[f"consume{event.__name__}From{_camel(queue.name)}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "summary": f"{queue.name} receives {event.TYPE}",
                "messages": [{"$ref": f"#/channels/{key}/messages/{event.__name__}"}],
                "bindings": {"amqp": {"ack": True, "bindingVersion": BINDING_VERSION}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Poverty review platform events",
            "version": "1.0.0",
            "description": DESCRIPTION,
            "license": {"name": "Apache 2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The platform's broker (RABBITMQ_URL); virtual host `/`.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def _message(event: type[Event]) -> JsonObject:
    name = event.__name__
    payload = {
        "allOf": [
            {"$ref": f"{_SCHEMAS}Envelope"},
            {
                "type": "object",
                "properties": {
                    "type": {"const": event.TYPE},
                    "schema_version": {"const": event.SCHEMA_VERSION},
                    "producer": {"const": _producer(event)},
                    "data": {"$ref": f"{_SCHEMAS}{name}"},
                },
            },
        ]
    }
    message: JsonObject = {
        "name": event.TYPE,
        "title": name,
        "summary": (event.__doc__ or "").strip().split("\n\n")[0],
        "contentType": CONTENT_TYPE,
        "payload": payload,
        "headers": {
            "type": "object",
            "properties": {
                "x-delivery-count": {
                    "type": "integer",
                    "description": "Set by RabbitMQ on a redelivery: deliveries before this one.",
                }
            },
        },
        "correlationId": {
            "description": "The request id (`X-Request-ID`) of the HTTP request that caused it; "
            "also the AMQP `correlation_id` property.",
            "location": "$message.payload#/correlation_id",
        },
        "bindings": {
            "amqp": {
                "contentEncoding": "utf-8",
                "messageType": event.TYPE,
                "bindingVersion": BINDING_VERSION,
            }
        },
        "description": (
            "AMQP properties: `message_id` = the envelope's `id`; `type` = the event type; "
            f"`correlation_id`; `content_type` = `{CONTENT_TYPE}`; `delivery_mode` = 2 "
            "(persistent); `timestamp` = when it was published."
        ),
    }
    example = EXAMPLES.get(event.TYPE)
    if example is not None:
        message["examples"] = [
            {
                "name": event.TYPE,
                "summary": f"{event.TYPE} in Phường Vĩnh Yên (08707), Phú Thọ",
                "headers": {},
                "payload": {
                    "id": "3f6c2a9e-0f1b-4c8a-9b3e-7d5a1c2e4f60",
                    "type": event.TYPE,
                    "schema_version": event.SCHEMA_VERSION,
                    "occurred_at": "2026-11-20T03:12:45Z",
                    "producer": _producer(event),
                    "correlation_id": "7a38943241984e038b544c245478672e",
                    "actor": "user:commune",
                    "subject": SUBJECTS.get(event.TYPE, event.TYPE),
                    "sequence": 1,
                    "data": example,
                },
            }
        ]
    return message


def _producer(event: type[Event]) -> str:
    return _PRODUCERS[event.TYPE.split(".")[0]]


def _exchange_binding() -> JsonObject:
    return {
        "is": "routingKey",
        "exchange": {"name": EVENTS_EXCHANGE, "type": "topic", "durable": True},
        "bindingVersion": BINDING_VERSION,
    }


def _queue_binding(queue: QueueSpec) -> JsonObject:
    return {
        "is": "queue",
        "queue": {"name": queue.name, "durable": True, "exclusive": False, "autoDelete": False},
        "bindingVersion": BINDING_VERSION,
    }


def _queue_description(queue: QueueSpec) -> str:
    keys = ", ".join(f"`{key}`" for key in queue.binding_keys)
    return (
        f"A durable quorum queue bound to `{EVENTS_EXCHANGE}` with {keys}; "
        f"`x-delivery-limit` {queue.delivery_limit}, then dead-lettered through "
        f"`{DEAD_LETTER_EXCHANGE}` (routing key `{queue.name}`) into `{queue.dead_letter_queue}`."
    )


def _routed(routing_key: str, patterns: Iterable[str]) -> bool:
    """Whether a topic exchange routes `routing_key` to a queue bound with one of `patterns`."""
    for pattern in patterns:
        regex = re.escape(pattern).replace(r"\*", r"[^.]+").replace(r"\#", r".*")
        # `a.#` also matches `a` itself: `#` stands for zero or more words.
        regex = regex.replace(r"\..*", r"(\..*)?")
        if re.fullmatch(regex, routing_key):
            return True
    return False


def _channel_key(queue: str) -> str:
    return f"queue{_camel(queue)}"


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[._-]", name))


def _lift(schema: JsonObject, schemas: JsonObject) -> JsonObject:
    """`schema` with its `$defs` moved into the document's schemas and its references rewritten:
    `#/$defs/X` means the document's root inside an AsyncAPI document."""
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, _rewrite(definition))
    return _rewrite(schema)  # type: ignore[no-any-return]


def _rewrite(value: Any) -> Any:
    if isinstance(value, dict):
        copied = {key: _rewrite(item) for key, item in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            copied["$ref"] = _SCHEMAS + ref.removeprefix("#/$defs/")
        return copied
    if isinstance(value, list):
        return [_rewrite(item) for item in value]
    return value
