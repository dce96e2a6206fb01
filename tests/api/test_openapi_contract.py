"""The merged OpenAPI document is the API's contract: the code's document equals the snapshot in
`docs/openapi.json`, its operation ids are unique, and `gateway.api_changes` tells a breaking
change from an addition.

When `test_the_document_matches_its_snapshot` fails, it says which; after checking that the change
is meant, run `.venv/bin/python -m launcher.openapi --write` (and, for a breaking change, add an
entry to docs/api-changelog.md saying why clients must change).
"""

import copy
import json
from typing import Any

import pytest

from gateway.api_changes import compare
from gateway.openapi import duplicate_operation_ids
from launcher.openapi import SNAPSHOT, WRITE_COMMAND, build_document

Json = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Json:
    return build_document()


def test_the_document_matches_its_snapshot(document: Json) -> None:
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changes = compare(snapshot, document)
    assert not changes.breaking, (
        "Breaking changes to /api/v1 (clients built on the snapshot would fail):\n  "
        + "\n  ".join(changes.breaking)
        + f"\nIf this is meant: note it in docs/api-changelog.md, then run {WRITE_COMMAND}"
    )
    assert document == snapshot, (
        "The OpenAPI document differs from docs/openapi.json without breaking clients"
        + (":\n  " + "\n  ".join(changes.additions) if changes.additions else " (texts, examples)")
        + f"\nRefresh the snapshot: {WRITE_COMMAND}"
    )


def test_operation_ids_are_unique_and_short(document: Json) -> None:
    assert duplicate_operation_ids(document) == {}
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert "recordAssessment" in ids
    assert "issueToken" in ids
    too_long = [name for name in ids if len(name) > 32 or "_" in name]
    assert too_long == [], "name the route function better, or give it operation_id="


ASSESSMENT = "/api/v1/households/{household_id}/assessments/{round_id}"


def _operation(document: Json, path: str = ASSESSMENT, method: str = "put") -> Json:
    return document["paths"][path][method]  # type: ignore[no-any-return]


def _schema(document: Json, name: str) -> Json:
    return document["components"]["schemas"][name]  # type: ignore[no-any-return]


def test_a_removed_operation_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    del new["paths"][ASSESSMENT]["put"]
    assert f"PUT {ASSESSMENT}: operation removed" in compare(document, new).breaking


def test_a_removed_path_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    del new["paths"]["/api/v1/rounds"]
    assert "/api/v1/rounds: path removed" in compare(document, new).breaking


def test_a_renamed_operation_id_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    _operation(new)["operationId"] = "putAssessment"
    assert compare(document, new).breaking == [
        f"PUT {ASSESSMENT}: operation id recordAssessment became putAssessment"
    ]


def test_a_new_required_request_field_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    household = _schema(new, "HouseholdCreate")
    household["properties"]["phone"] = {"type": "string"}
    household["required"].append("phone")
    breaking = compare(document, new).breaking
    assert "POST /api/v1/households body: field phone now required" in breaking


def test_a_narrowed_request_type_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    dwelling = _schema(new, "DwellingInput")
    dwelling["properties"]["floor_area_m2"] = {"type": "integer"}
    assert any(
        "floor_area_m2: no longer accepts number" in line
        for line in compare(document, new).breaking
    )


def test_a_request_field_limited_to_a_list_or_a_pattern_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    village = _schema(new, "HouseholdCreate")["properties"]["village"]
    village["enum"] = ["Thôn 1", "Thôn 2"]
    village["pattern"] = "^Thôn"
    breaking = compare(document, new).breaking
    assert any("village: now accepts only ['Thôn 1', 'Thôn 2']" in line for line in breaking)
    assert any("village: must now match ^Thôn" in line for line in breaking)


def test_a_removed_response_field_breaks(document: Json) -> None:
    new = copy.deepcopy(document)
    del _schema(new, "RoundRead")["properties"]["reference_date"]
    assert "GET /api/v1/rounds/{round_id} 200: field reference_date removed" in (
        compare(document, new).breaking
    )


def test_additions_do_not_break(document: Json) -> None:
    new = copy.deepcopy(document)
    new["paths"]["/api/v1/rounds/{round_id}/summary"] = {
        "get": {"operationId": "getRoundSummary", "responses": {}}
    }
    _schema(new, "RoundRead")["properties"]["label"] = {"type": "string"}
    changes = compare(document, new)
    assert changes.breaking == []
    assert "GET /api/v1/rounds/{round_id}/summary: operation added" in changes.additions
    assert "GET /api/v1/rounds/{round_id} 200: field label added" in changes.additions
