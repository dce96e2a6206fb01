"""The merged OpenAPI document is the manual: every operation, parameter, property and enum value
explained, every operation with examples, and every example valid against its schema.

When a new route fails here, the message names each gap and how to fill it:
- an operation without a description: a docstring on the route function (who may call it is added
  from its `requires(...)` permission);
- a parameter: `Query(description=...)`, `Path(description=...)`, `Header(description=...)`;
- a property: `Field(description=...)` on the model, with the unit (VND per person per month, m²);
- an enum: a docstring on the enum class with one line per value: "`value`: meaning";
- examples: add the operation's call to `launcher/src/launcher/api_examples.py`, then run
  `.venv/bin/python -m launcher.api_examples --write` (or give the request model
  `json_schema_extra={"examples": [...]}`);
then refresh the snapshot: `.venv/bin/python -m launcher.openapi --write`.
"""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from gateway.api_coverage import examples, measure
from households.household.schemas import AssessmentInput
from launcher.openapi import build_document

Json = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]
SURVEY = ROOT / "docs" / "examples" / "survey.json"
DOCUMENT_URI = "urn:poverty-platform:openapi"


@pytest.fixture(scope="module")
def document() -> Json:
    return build_document()


def test_everything_is_described_and_exemplified(document: Json) -> None:
    coverage = measure(document)
    assert coverage.gaps == [], (
        f"{len(coverage.gaps)} gaps in the API's documentation ({coverage.summary()}):\n  "
        + "\n  ".join(coverage.gaps)
        + "\nSee this test's docstring for how to fill each kind; then "
        ".venv/bin/python -m launcher.openapi --write"
    )


def test_every_example_meets_its_schema(document: Json) -> None:
    # The document is the root every `#/components/...` reference resolves against.
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    refs = re.compile(r'"\$ref": "#/')
    invalid = []
    checked = 0
    for where, schema, example in examples(document):
        rooted = json.loads(refs.sub(f'"$ref": "{DOCUMENT_URI}#/', json.dumps(schema)))
        validator = jsonschema.Draft202012Validator(
            rooted, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        errors = [error.message for error in validator.iter_errors(example)]
        checked += 1
        if errors:
            invalid.append(f"{where}: {errors[:3]}")
    assert checked > 300
    assert invalid == []


def test_the_survey_example_is_the_documented_request(document: Json) -> None:
    survey = json.loads(SURVEY.read_text(encoding="utf-8"))
    AssessmentInput.model_validate(survey)
    put = document["paths"]["/api/v1/households/{household_id}/assessments/{round_id}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["example"] == survey


def test_the_readme_survey_is_valid() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    heredoc = re.search(r"cat > survey.json <<'JSON'\n(.*?)\nJSON\n", readme, re.DOTALL)
    assert heredoc is not None, "the README's walk-through writes survey.json"
    AssessmentInput.model_validate_json(heredoc.group(1))


def test_enums_bound_to_a_standard_say_where_it_puts_them(document: Json) -> None:
    water = document["components"]["schemas"]["WaterSource"]["description"]
    latrine = document["components"]["schemas"]["Latrine"]["description"]
    assert "`VN-2022-2025`, indicator 9" in water
    assert "safe_sources: `piped`" in water
    assert "`VN-2022-2025`, indicator 10" in latrine
    assert "hygienic: `septic`" in latrine


def _operation(content: Json) -> Json:
    return {
        "paths": {
            "/api/v1/things": {
                "get": {
                    "summary": "List Things",
                    "description": "Things.",
                    "responses": {"200": {"description": "OK", "content": content}},
                }
            }
        }
    }


def test_a_json_answer_without_an_example_is_a_gap() -> None:
    coverage = measure(_operation({"application/json": {"schema": {"type": "object"}}}))
    assert coverage.operations_exemplified == 0
    assert coverage.gaps == [
        "GET /api/v1/things: no example of its 200 answer (model_config "
        "json_schema_extra={'examples': [...]} on the model)"
    ]


def test_a_file_answer_needs_a_schema_but_no_example() -> None:
    # Bytes have no place in a JSON document; saying they are bytes is what clients need.
    png = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
    assert measure(_operation(png)).gaps == []
    assert measure(_operation({"image/png": {}})).gaps == [
        'GET /api/v1/things: 200 answer image/png has no schema (responses={200: {"content": '
        '{media: {"schema": {"type": "string", "format": "binary"}}}}})'
    ]
    # A file beside JSON does not excuse the JSON its example.
    both = {**png, "application/json": {"schema": {"type": "object"}}}
    assert measure(_operation(both)).operations_exemplified == 0


def test_two_models_of_one_name_are_a_gap() -> None:
    document = {"components": {"schemas": {"indicators__what_if__router__ClassCounts": {}}}}
    assert measure(document).gaps == [
        "schema indicators__what_if__router__ClassCounts: two models share a name; rename one "
        "(a breaking change for generated clients if the other was published)"
    ]
