"""What changed between two versions of the merged OpenAPI document, and whether it breaks a
client built against the older one.

Breaking, under `/api/v1`: a path, operation or operation id removed; a request that now needs
something the old one did not (a new required parameter or body field), or accepts less (a type,
an enum value or a range narrowed); a response that gives less (a field removed, made optional,
or of another type). Everything else — new paths, operations, optional fields, response fields,
response enum values (clients must tolerate unknown values, see docs/api-changelog.md) — is an
addition.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]
PREFIX = "/api/v1/"
_METHODS = ("get", "put", "post", "delete", "patch")
_REF = "#/components/schemas/"


@dataclass
class Changes:
    breaking: list[str] = field(default_factory=list)
    additions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Side:
    document: JsonObject

    def resolve(self, schema: Any) -> JsonObject:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            name = str(schema["$ref"]).removeprefix(_REF)
            schema = self.document.get("components", {}).get("schemas", {}).get(name, {})
            seen += 1
        return schema if isinstance(schema, dict) else {}


def compare(old: JsonObject, new: JsonObject) -> Changes:
    changes = Changes()
    before, after = _Side(old), _Side(new)
    for path, old_item in old.get("paths", {}).items():
        if not path.startswith(PREFIX):
            continue
        new_item = new.get("paths", {}).get(path)
        if new_item is None:
            changes.breaking.append(f"{path}: path removed")
            continue
        for method in _METHODS:
            if method not in old_item:
                continue
            where = f"{method.upper()} {path}"
            if method not in new_item:
                changes.breaking.append(f"{where}: operation removed")
                continue
            _operation(where, old_item[method], new_item[method], before, after, changes)
    for path, new_item in new.get("paths", {}).items():
        old_item = old.get("paths", {}).get(path, {})
        for method in _METHODS:
            if method in new_item and method not in old_item:
                changes.additions.append(f"{method.upper()} {path}: operation added")
    return changes


def _operation(
    where: str, old: JsonObject, new: JsonObject, before: _Side, after: _Side, changes: Changes
) -> None:
    if old.get("operationId") != new.get("operationId"):
        changes.breaking.append(
            f"{where}: operation id {old.get('operationId')} became {new.get('operationId')}"
        )
    old_params = {(p.get("in"), p.get("name")): p for p in _params(old)}
    for key, param in {(p.get("in"), p.get("name")): p for p in _params(new)}.items():
        if key not in old_params:
            if param.get("required"):
                changes.breaking.append(f"{where}: new required {key[0]} parameter {key[1]}")
            else:
                changes.additions.append(f"{where}: optional {key[0]} parameter {key[1]}")
            continue
        if param.get("required") and not old_params[key].get("required"):
            changes.breaking.append(f"{where}: {key[0]} parameter {key[1]} now required")
        _request_schema(
            f"{where} {key[0]} parameter {key[1]}",
            old_params[key].get("schema", {}),
            param.get("schema", {}),
            before,
            after,
            changes,
            set(),
        )
    old_body, new_body = _json_body(old.get("requestBody")), _json_body(new.get("requestBody"))
    if new_body is not None:
        if old_body is None:
            if new.get("requestBody", {}).get("required"):
                changes.breaking.append(f"{where}: a request body is now required")
        else:
            _request_schema(f"{where} body", old_body, new_body, before, after, changes, set())
    for status, response in old.get("responses", {}).items():
        if not status.startswith("2"):
            continue
        old_schema = _json_body(response)
        new_schema = _json_body(new.get("responses", {}).get(status))
        if old_schema is None:
            continue
        if new_schema is None:
            changes.breaking.append(f"{where}: {status} answer no longer JSON")
            continue
        _response_schema(f"{where} {status}", old_schema, new_schema, before, after, changes, set())


def _params(operation: JsonObject) -> Iterator[JsonObject]:
    yield from (p for p in operation.get("parameters", []) if isinstance(p, dict))


def _json_body(holder: Any) -> JsonObject | None:
    if not isinstance(holder, dict):
        return None
    media = holder.get("content", {}).get("application/json")
    return media.get("schema", {}) if isinstance(media, dict) else None


def _types(schema: JsonObject, side: _Side) -> set[str]:
    schema = side.resolve(schema)
    if "anyOf" in schema or "oneOf" in schema:
        branches: list[JsonObject] = schema.get("anyOf") or schema.get("oneOf") or []
        found: set[str] = set()
        for branch in branches:
            found |= _types(branch, side)
        return found
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    if kind is None:
        return {"object"} if "properties" in schema else {"any"}
    # A number may be an integer: narrowing a number to integers loses the rest.
    return {kind} | ({"integer"} if kind == "number" else set())


def _single(schema: JsonObject, side: _Side) -> JsonObject:
    """The one non-null branch of an optional schema, resolved."""
    schema = side.resolve(schema)
    branches = [b for b in schema.get("anyOf", []) if side.resolve(b).get("type") != "null"]
    return side.resolve(branches[0]) if len(branches) == 1 else schema


def _request_schema(
    where: str,
    old: JsonObject,
    new: JsonObject,
    before: _Side,
    after: _Side,
    changes: Changes,
    seen: set[tuple[str, str]],
) -> None:
    """A request accepts no less than before."""
    key = (str(old.get("$ref")), str(new.get("$ref")))
    if key in seen and key != ("None", "None"):
        return
    seen = seen | {key}
    old_types, new_types = _types(old, before), _types(new, after)
    if "any" not in new_types and not old_types <= new_types:
        lost = ", ".join(sorted(old_types - new_types))
        changes.breaking.append(f"{where}: no longer accepts {lost}")
    old_s, new_s = _single(old, before), _single(new, after)
    if "enum" in new_s:
        if "enum" not in old_s:  # any value before, a list of them now
            changes.breaking.append(f"{where}: now accepts only {sorted(map(str, new_s['enum']))}")
        else:
            removed = set(map(str, old_s["enum"])) - set(map(str, new_s["enum"]))
            if removed:
                changes.breaking.append(f"{where}: no longer accepts {sorted(removed)}")
    if "pattern" in new_s and new_s["pattern"] != old_s.get("pattern"):
        changes.breaking.append(f"{where}: must now match {new_s['pattern']}")
    for bound, narrower in (("maxLength", min), ("maximum", min), ("maxItems", min)):
        _bound(where, bound, old_s, new_s, narrower, changes)
    for bound, narrower in (("minLength", max), ("minimum", max), ("minItems", max)):
        _bound(where, bound, old_s, new_s, narrower, changes)
    old_props, new_props = old_s.get("properties", {}), new_s.get("properties", {})
    old_required = set(old_s.get("required", []))
    for name in set(new_s.get("required", [])) - old_required:
        changes.breaking.append(f"{where}: field {name} now required")
    for name, schema in new_props.items():
        if name in old_props:
            _request_schema(
                f"{where}.{name}", old_props[name], schema, before, after, changes, seen
            )
    if "items" in old_s and "items" in new_s:
        _request_schema(f"{where}[]", old_s["items"], new_s["items"], before, after, changes, seen)


def _bound(
    where: str, bound: str, old: JsonObject, new: JsonObject, narrower: Any, changes: Changes
) -> None:
    if bound in new and (bound not in old or narrower(old[bound], new[bound]) != old[bound]):
        changes.breaking.append(f"{where}: {bound} narrowed to {new[bound]}")


def _response_schema(
    where: str,
    old: JsonObject,
    new: JsonObject,
    before: _Side,
    after: _Side,
    changes: Changes,
    seen: set[tuple[str, str]],
) -> None:
    """A response gives no less than before, and nothing of a type a client did not expect."""
    key = (str(old.get("$ref")), str(new.get("$ref")))
    if key in seen and key != ("None", "None"):
        return
    seen = seen | {key}
    old_types, new_types = _types(old, before), _types(new, after)
    if "any" not in old_types and not new_types <= old_types:
        extra = ", ".join(sorted(new_types - old_types))
        changes.breaking.append(f"{where}: may now be {extra}")
    old_s, new_s = _single(old, before), _single(new, after)
    old_props, new_props = old_s.get("properties", {}), new_s.get("properties", {})
    new_required = set(new_s.get("required", []))
    for name, schema in old_props.items():
        if name not in new_props:
            changes.breaking.append(f"{where}: field {name} removed")
            continue
        if name in old_s.get("required", []) and name not in new_required:
            changes.breaking.append(f"{where}: field {name} no longer always given")
        _response_schema(f"{where}.{name}", schema, new_props[name], before, after, changes, seen)
    for name in set(new_props) - set(old_props):
        changes.additions.append(f"{where}: field {name} added")
    if "items" in old_s and "items" in new_s:
        _response_schema(f"{where}[]", old_s["items"], new_s["items"], before, after, changes, seen)
