"""How much of the merged OpenAPI document explains itself: which operations, parameters,
properties and enums lack a description, and which operations lack examples.

`tests/api/test_openapi_documentation.py` fails on any gap; `python -m launcher.openapi
--coverage` prints the counts and the gaps.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]
_METHODS = ("get", "put", "post", "delete", "patch")
_REF = "#/components/schemas/"
JSON = "application/json"


@dataclass
class Coverage:
    operations: int = 0
    operations_described: int = 0
    operations_exemplified: int = 0
    parameters: int = 0
    parameters_described: int = 0
    properties: int = 0
    properties_described: int = 0
    enums: int = 0
    enums_explained: int = 0
    examples: int = 0
    gaps: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"operations {self.operations_described}/{self.operations} described, "
            f"{self.operations_exemplified}/{self.operations} with examples; "
            f"parameters {self.parameters_described}/{self.parameters} described; "
            f"properties {self.properties_described}/{self.properties} described; "
            f"enums {self.enums_explained}/{self.enums} explained; {self.examples} examples"
        )


def operations(document: JsonObject) -> Iterator[tuple[str, JsonObject]]:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if isinstance(item.get(method), dict):
                yield f"{method.upper()} {path}", item[method]


def resolve(document: JsonObject, schema: Any) -> JsonObject:
    while isinstance(schema, dict) and "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(_REF)
        schema = document.get("components", {}).get("schemas", {}).get(name, {})
    return schema if isinstance(schema, dict) else {}


def _has_example(document: JsonObject, media: JsonObject) -> bool:
    if "example" in media or media.get("examples"):
        return True
    schema = resolve(document, media.get("schema", {}))
    if schema.get("examples"):
        return True
    if schema.get("type") == "array":
        return bool(resolve(document, schema.get("items", {})).get("examples"))
    return False


def _binary_without_schema(holder: Any) -> list[str]:
    """Media types of a file answer (XLSX, CSV, SVG, PNG) that do not say what they hold.

    Files need no example (bytes do not fit in a JSON document), but their schema must say they
    are a string (`format: binary` for bytes), so that generated clients hand back the file."""
    if not isinstance(holder, dict):
        return []
    return [
        media_type
        for media_type, media in holder.get("content", {}).items()
        if media_type != JSON and not (isinstance(media, dict) and media.get("schema"))
    ]


def _media(holder: Any) -> JsonObject | None:
    if not isinstance(holder, dict):
        return None
    media = holder.get("content", {}).get(JSON)
    return media if isinstance(media, dict) else None


def measure(document: JsonObject) -> Coverage:
    found = Coverage()
    for where, operation in operations(document):
        found.operations += 1
        if operation.get("summary") and operation.get("description"):
            found.operations_described += 1
        else:
            found.gaps.append(f"{where}: no summary or description (a docstring on the route)")
        missing: list[str] = []
        body = _media(operation.get("requestBody"))
        if body is not None and not _has_example(document, body):
            missing.append("request body")
        for status, response in operation.get("responses", {}).items():
            media = _media(response)
            if status.startswith("2") and media is not None and not _has_example(document, media):
                missing.append(f"{status} answer")
            if status.startswith("2"):
                found.gaps.extend(
                    f"{where}: {status} answer {media_type} has no schema "
                    '(responses={200: {"content": {media: {"schema": {"type": "string", '
                    '"format": "binary"}}}}})'
                    for media_type in _binary_without_schema(response)
                )
        if missing:
            found.gaps.append(
                f"{where}: no example of its {' or '.join(missing)} (model_config "
                "json_schema_extra={'examples': [...]} on the model)"
            )
        else:
            found.operations_exemplified += 1
        for parameter in operation.get("parameters", []):
            found.parameters += 1
            if parameter.get("description"):
                found.parameters_described += 1
            else:
                found.gaps.append(
                    f"{where}: parameter {parameter.get('name')} has no description "
                    "(Query/Path/Header(description=...))"
                )
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        if "__" in name:
            # FastAPI names two models of one name by their modules: both names change, and
            # generated clients' classes with them.
            found.gaps.append(
                f"schema {name}: two models share a name; rename one (a breaking change for "
                "generated clients if the other was published)"
            )
        if "enum" in schema:
            found.enums += 1
            description = str(schema.get("description", ""))
            unexplained = [v for v in schema["enum"] if f"`{v}`" not in description]
            if unexplained:
                found.gaps.append(
                    f"enum {name}: values {unexplained} not explained in its docstring "
                    "(one line per value: `value`: meaning)"
                )
            else:
                found.enums_explained += 1
        for prop, body in schema.get("properties", {}).items():
            found.properties += 1
            if isinstance(body, dict) and body.get("description"):
                found.properties_described += 1
            else:
                found.gaps.append(
                    f"schema {name}: property {prop} has no description (Field(description=...))"
                )
    found.examples = sum(1 for _ in examples(document))
    return found


def examples(document: JsonObject) -> Iterator[tuple[str, JsonObject, Any]]:
    """Every example in the document: where it is, the schema it must meet, the example."""
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        for number, example in enumerate(schema.get("examples", [])):
            yield f"schema {name} example {number}", {"$ref": f"{_REF}{name}"}, example
    for where, operation in operations(document):
        holders = [("request body", operation.get("requestBody"))] + [
            (f"{status} answer", response)
            for status, response in operation.get("responses", {}).items()
        ]
        for label, holder in holders:
            if not isinstance(holder, dict):
                continue
            for media_type, media in holder.get("content", {}).items():
                schema = media.get("schema", {})
                if "example" in media:
                    yield f"{where} {label} {media_type}", schema, media["example"]
                for key, named in media.get("examples", {}).items():
                    if "value" in named:
                        yield f"{where} {label} {media_type} {key}", schema, named["value"]
        for parameter in operation.get("parameters", []):
            if "example" in parameter:
                label = f"{where} parameter {parameter.get('name')}"
                yield label, parameter.get("schema", {}), parameter["example"]
