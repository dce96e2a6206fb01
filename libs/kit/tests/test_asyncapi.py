"""The AsyncAPI 3.0 catalogue: valid against the AsyncAPI schema, generated from the contracts
(`docs/asyncapi.json` is up to date), and complete: every published type with its channel, its
producer's operation, the queues it is routed to and a valid example."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from kit.contracts import EVENT_TYPES, PUBLISHED, Envelope, decode
from kit.contracts.asyncapi import _routed, asyncapi
from kit.contracts.examples import EXAMPLES
from kit.messaging.topology import INDICATORS_QUEUE, NOTIFICATIONS_QUEUE

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = Path(__file__).parent / "contracts" / "asyncapi" / "3.0.0.schema.json"
REGENERATE = ".venv/bin/python -m kit.contracts --asyncapi > docs/asyncapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi()


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    assert [f"{list(error.path)}: {error.message[:200]}" for error in errors] == []


def test_the_published_document_is_the_generated_one(document: dict[str, Any]) -> None:
    published = json.loads((ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8"))
    assert published == document, f"docs/asyncapi.json is out of date: {REGENERATE}"


def test_every_type_has_a_channel_on_the_events_exchange_and_a_send_operation(
    document: dict[str, Any],
) -> None:
    for event in PUBLISHED:
        channel = document["channels"][event.__name__]
        assert channel["address"] == event.TYPE
        assert channel["bindings"]["amqp"]["exchange"] == {
            "name": "events",
            "type": "topic",
            "durable": True,
        }
        send = document["operations"][f"publish{event.__name__}"]
        assert send["action"] == "send"
        assert send["bindings"]["amqp"]["deliveryMode"] == 2


def test_every_example_is_a_valid_envelope_of_its_type(document: dict[str, Any]) -> None:
    missing = [event.TYPE for event in PUBLISHED if event.TYPE not in EXAMPLES]
    assert missing == [], "add an example to kit/contracts/examples.py for each"
    for event in PUBLISHED:
        message = document["components"]["messages"][event.__name__]
        (example,) = message["examples"]
        envelope = Envelope.model_validate(example["payload"])
        assert type(decode(envelope)) is EVENT_TYPES[event.TYPE]


def test_every_schema_reference_resolves_inside_the_document(document: dict[str, Any]) -> None:
    registry: Registry[Any] = Registry().with_resource(
        "urn:asyncapi", Resource.from_contents(document, default_specification=DRAFT7)
    )
    resolver = registry.resolver("urn:asyncapi")
    refs: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                refs.append(value["$ref"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    for ref in refs:
        resolver.lookup(ref)  # raises when it points nowhere
    assert refs


def test_queues_receive_what_their_bindings_route() -> None:
    assert _routed("households.assessment.recorded.v1", INDICATORS_QUEUE.binding_keys)
    assert not _routed("indicators.household.class_changed.v1", INDICATORS_QUEUE.binding_keys)
    assert _routed("indicators.household.class_changed.v1", NOTIFICATIONS_QUEUE.binding_keys)
    # Notifications takes every event (subscriptions may name any type of the catalogue).
    assert _routed("households.round.opened.v1", NOTIFICATIONS_QUEUE.binding_keys)
    assert not _routed("households.round.opened.v1", ("indicators.#",))
    assert _routed("households", ("households.#",))  # `#` is zero or more words
