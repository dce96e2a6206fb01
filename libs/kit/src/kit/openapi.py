"""What every app's OpenAPI document shares: short operation ids, who may call each operation,
and example problem documents.

Operation ids are the route function's name in camelCase (`record_assessment` →
`recordAssessment`): generated clients turn them into their method and module names, so they are
part of the API (frozen by the gateway's snapshot, `docs/openapi.json`). A route whose function
name would read badly in a client names its own with `operation_id=`.

Who may call an operation is not restated in every docstring: each route names the permission it
needs (`kit.auth.requires`), and the roles holding it are read from `kit.auth.PERMISSIONS`.
"""

from collections.abc import Collection, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from kit.auth.roles import PERMISSIONS, Permission, Role
from kit.errors import PROBLEM_JSON
from kit.vocabulary import MEANINGS, PROPERTIES, describe

JsonObject = dict[str, Any]
_METHODS = frozenset({"get", "put", "post", "delete", "patch"})


def operation_id(route: APIRoute) -> str:
    """The route function's name in camelCase: FastAPI's `generate_unique_id_function`."""
    first, *rest = route.name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def document_callers(
    app: FastAPI, *, idempotent: bool = False, not_idempotent: Collection[str] = ()
) -> None:
    """Add to each operation's description who may call it, from the permission its route
    requires; to each problem answer an example; to the contracts' enums their meanings."""
    generate = app.openapi

    def openapi() -> JsonObject:
        fresh = app.openapi_schema is None
        document = generate()
        if fresh:
            _describe_callers(app, document)
            add_problem_examples(document)
            describe_shared_enums(document)
            describe_common_parameters(document)
            if idempotent:
                document_idempotency(document, skip=not_idempotent)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend the document


# Parameters that many routes share, described once; a route's own description wins.
COMMON_PARAMETERS: dict[tuple[str, str], str] = {
    ("path", "round_id"): "The review round's id (`GET /api/v1/rounds`).",
    ("query", "round_id"): "Only those of this review round (its id).",
    ("path", "household_id"): "The household's id (`GET /api/v1/households`).",
    ("query", "household_id"): "Only those of this household (its id).",
    ("path", "code"): "An administrative unit's code: 2 digits for a province, 3 for a district "
    "(before 1 July 2025), 5 for a commune.",
    ("path", "unit_code"): "An administrative unit's code (2 digits province, 3 district, "
    "5 commune), as in force on the round's reference date.",
    ("query", "unit_code"): "Only those in this unit (its code) and the units under it.",
    ("path", "standard_id"): "A poverty standard's id, e.g. `VN-2022-2025`.",
    ("path", "user_id"): "The user's id.",
    ("path", "key_id"): "The API key's id.",
    ("path", "import_id"): "The import's id, from `POST /api/v1/imports`.",
    ("path", "job_id"): "The recalculation job's id, from `POST /api/v1/recalculations`.",
    ("path", "conflict_id"): "The conflict's id (`GET /api/v1/assessments/conflicts`).",
    ("path", "notification_id"): "The notification's id.",
    ("path", "objection_id"): "The objection's id.",
    ("query", "offset"): "How many items to skip, in the list's stable order.",
    ("query", "limit"): "The most items to return.",
    ("header", "if-match"): "The `ETag` of the version you read: the change applies only if "
    "nobody changed it since (412 otherwise; 428 without it when it replaces something).",
}


IDEMPOTENCY_PARAMETER: JsonObject = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique value per logical request (a UUID): a retry with the same key "
    "and the same request gets the first answer again (`Idempotent-Replayed: true`) instead of "
    "creating twice, for 24 hours; the same key with another request is refused (422), and "
    "while the first still runs a retry answers 409.",
    # Visible ASCII only, as the middleware checks (`kit.idempotency`).
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "example": "5f0c7d7e-2b1a-4c39-9a52-6b2f0f3f8e11",
}


def document_idempotency(document: JsonObject, *, skip: Collection[str] = ()) -> None:
    """The `Idempotency-Key` header on each creating POST (one answering 201 or 202), but
    those of the paths in `skip`."""
    for path, item in document.get("paths", {}).items():
        if path in skip:
            continue
        operation = item.get("post")
        if not isinstance(operation, dict):
            continue
        if not {"201", "202"} & set(operation.get("responses", {})):
            continue
        operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_PARAMETER))
        operation["responses"].setdefault(
            "409",
            {
                "description": "Conflict",
                "content": {
                    PROBLEM_JSON: {
                        "schema": {"$ref": "#/components/schemas/Problem"},
                        "example": PROBLEM_EXAMPLES["409"],
                    }
                },
            },
        )


def describe_common_parameters(document: JsonObject) -> None:
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                key = (parameter.get("in"), str(parameter.get("name")).lower())
                if not parameter.get("description") and key in COMMON_PARAMETERS:
                    parameter["description"] = COMMON_PARAMETERS[key]


def describe_shared_enums(document: JsonObject) -> None:
    """The meaning of each value of the contracts' enums, and of their models' properties
    (`kit.vocabulary`)."""
    schemas = document.get("components", {}).get("schemas", {})
    for name, properties in PROPERTIES.items():
        for prop, schema in schemas.get(name, {}).get("properties", {}).items():
            if prop in properties:
                schema.setdefault("description", properties[prop])
    for enum in MEANINGS:
        schema = schemas.get(enum.__name__)
        if isinstance(schema, dict) and "enum" in schema:
            schema["description"] = describe(enum, schema.get("description"))


def _describe_callers(app: FastAPI, document: JsonObject) -> None:
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        permissions = sorted({p.value for p in _permissions(route.dependant)})
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["description"] = _with_callers(
                operation.get("description", ""), [Permission(p) for p in permissions]
            )
            if permissions:
                operation["x-permissions"] = permissions


def _permissions(dependant: Dependant) -> Iterator[Permission]:
    for dependency in dependant.dependencies:
        permission = getattr(dependency.call, "permission", None)
        if isinstance(permission, Permission):
            yield permission
        yield from _permissions(dependency)


def roles_with(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in PERMISSIONS[role]]


def _with_callers(description: str, permissions: list[Permission]) -> str:
    if not permissions:
        return description
    lines = [
        f"`{permission.value}`: " + ", ".join(f"`{role.value}`" for role in roles_with(permission))
        for permission in permissions
    ]
    who = (
        "**Who may call**: the roles holding "
        + "; ".join(lines)
        + ". Each sees only its unit scope: anything outside it answers 404."
    )
    return f"{description.rstrip()}\n\n{who}" if description else who


# One example problem per status: what a client meets and how to read it.
PROBLEM_EXAMPLES: dict[str, JsonObject] = {
    "400": {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "The request body could not be read.",
        "errors": [],
    },
    "401": {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "An access token is required (Authorization: Bearer <token>).",
        "errors": [],
    },
    "403": {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "The role ministry_analyst does not allow households:write.",
        "errors": [],
    },
    "404": {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No household 0b8e6f5c-3f0e-4d3a-9a57-7d2f4c1e9a10.",
        "errors": [],
    },
    "409": {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "The commune's review is approved: its data is read-only until reopened.",
        "errors": [],
    },
    "412": {
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "detail": 'The household changed since it was read (ETag "3"); read it again.',
        "errors": [],
    },
    "413": {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": "The request body is larger than 1048576 bytes.",
        "errors": [],
    },
    "422": {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "The request is not valid.",
        "errors": [
            {"loc": ["body", "members", 0, "birth_date"], "msg": "Input should be a valid date"}
        ],
    },
    "428": {
        "type": "about:blank",
        "title": "Precondition Required",
        "status": 428,
        "detail": "Send If-Match with the ETag you read.",
        "errors": [],
    },
    "429": {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Rate limit exceeded; retry after the time in Retry-After.",
        "errors": [],
    },
    "502": {
        "type": "about:blank",
        "title": "Bad Gateway",
        "status": 502,
        "detail": "The households service is unavailable.",
        "errors": [],
    },
    "503": {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The database is unavailable; retry later.",
        "errors": [],
    },
    "504": {
        "type": "about:blank",
        "title": "Gateway Timeout",
        "status": 504,
        "detail": "The indicators service did not answer in time.",
        "errors": [],
    },
}


def add_problem_examples(document: JsonObject) -> None:
    """An example on every problem+json answer of `document` that has none."""
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get(PROBLEM_JSON)
                if media is not None and status in PROBLEM_EXAMPLES:
                    media.setdefault("example", PROBLEM_EXAMPLES[status])
