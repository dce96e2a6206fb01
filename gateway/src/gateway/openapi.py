"""One OpenAPI document for the whole platform, merged from every service's own.

Each service's `/api/v1/...` paths that the routing table sends to it are kept. Components with
the same name and identical content are shared; a name that two documents define differently is
prefixed with each definer's name (`households_Page`, `indicators_Page`) and every `$ref` to it
rewritten, so a client generated from the merged document never confuses the two.

Every operation that needs a caller (it names a security requirement in its own document) may be
called with any of the platform's credentials: a token from the OAuth2 password flow at the
gateway's token endpoint (what the Swagger UI's "Authorize" dialog uses), a bearer token obtained
elsewhere, or an API key.
"""

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeAlias, TypeGuard

import httpx
import structlog

from gateway import api_info
from gateway.routes import upstream_for
from kit.errors import PROBLEM_JSON
from kit.openapi import PROBLEM_EXAMPLES

JsonObject: TypeAlias = dict[str, Any]
# (component section, original name) -> name in the merged document
Renames: TypeAlias = dict[tuple[str, str], str]

TITLE = "Poverty review platform API"
_REF_PREFIX = "#/components/"
# Every service verifies the same gateway-issued tokens, so same-named security schemes are one
# scheme; renaming them would also mean rewriting every operation's `security` list.
_SHARED_SECTIONS = frozenset({"securitySchemes"})

TOKEN_URL = "/api/v1/auth/token"
SECURITY_SCHEMES: JsonObject = {
    "OAuth2Password": {
        "type": "oauth2",
        "description": "Log in with a username and password; access tokens last 15 minutes.",
        "flows": {"password": {"tokenUrl": TOKEN_URL, "refreshUrl": TOKEN_URL, "scopes": {}}},
    },
    "HTTPBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": f"An access token from `POST {TOKEN_URL}`.",
    },
    "APIKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (machine clients); the gateway exchanges it for a token.",
    },
}
# Alternatives: any one of them authenticates.
SECURITY: list[JsonObject] = [{name: []} for name in SECURITY_SCHEMES]
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

# Request and response examples by operation id, recorded from a real platform
# (`python -m launcher.api_examples --write`).
EXAMPLES_FILE = Path(__file__).parent / "api_examples.json"

log = structlog.get_logger()


async def fetch_documents(
    upstreams: Mapping[str, httpx.AsyncClient], *, seconds: float
) -> tuple[dict[str, JsonObject], list[str]]:
    """Every reachable upstream's OpenAPI document, and the names of those that were not."""
    names = list(upstreams)
    results = await asyncio.gather(*(_fetch(name, upstreams[name], seconds) for name in names))
    documents = {name: doc for name, doc in zip(names, results, strict=True) if doc is not None}
    return documents, [name for name in names if name not in documents]


async def _fetch(name: str, client: httpx.AsyncClient, seconds: float) -> JsonObject | None:
    try:
        async with asyncio.timeout(seconds):
            response = await client.get("/openapi.json")
        response.raise_for_status()
        document = response.json()
    except (TimeoutError, httpx.HTTPError, ValueError) as exc:
        log.warning("openapi.upstream_missing", upstream=name, error=repr(exc))
        return None
    if not _is_document(document):
        log.warning("openapi.upstream_missing", upstream=name, error="not an OpenAPI document")
        return None
    return document


def _is_document(value: Any) -> TypeGuard[JsonObject]:
    # Only the parts the merge walks by shape; everything else is copied as it is.
    if not isinstance(value, dict) or not isinstance(value.get("paths"), dict):
        return False
    components = value.get("components", {})
    tags = value.get("tags", [])
    return (
        isinstance(components, dict)
        and all(isinstance(section, dict) for section in components.values())
        and isinstance(tags, list)
        and all(isinstance(tag, dict) and isinstance(tag.get("name"), str) for tag in tags)
    )


def merge(
    own: JsonObject,
    upstreams: Mapping[str, JsonObject],
    *,
    version: str,
    missing: Sequence[str] = (),
) -> JsonObject:
    """The gateway's `own` document with the `upstreams`' paths and components merged in."""
    sources = {"gateway": own, **upstreams}
    renames = _resolve_conflicts(sources)
    paths: JsonObject = {}
    components: dict[str, JsonObject] = defaultdict(dict)
    tags: dict[str, JsonObject] = {}
    for source, document in sources.items():
        for path, item in _rewrite(document.get("paths", {}), renames[source]).items():
            if source == "gateway" or upstream_for(path) == source:
                paths[path] = item
        for section, original, body in _components(document):
            name = renames[source].get((section, original), original)
            body = _rewrite(body, renames[source])
            if section in _SHARED_SECTIONS:
                components[section].setdefault(name, body)
            else:
                components[section][name] = body
        for tag in document.get("tags", []):
            tags.setdefault(tag.get("name"), tag)

    info: JsonObject = {
        "title": TITLE,
        "version": version,
        "description": api_info.DESCRIPTION,
        "contact": api_info.CONTACT,
        "license": api_info.LICENSE,
    }
    if missing:
        info["x-missing-upstreams"] = sorted(missing)
    merged: JsonObject = {
        "openapi": own.get("openapi", "3.1.0"),
        "info": info,
        "servers": api_info.SERVERS,
        "paths": paths,
    }
    if _declare_security(paths):
        # The gateway's schemes first: Swagger UI's "Authorize" dialog lists the log-in form on top.
        components["securitySchemes"] = SECURITY_SCHEMES | {
            name: scheme
            for name, scheme in components["securitySchemes"].items()
            if name not in SECURITY_SCHEMES
        }
    _add_enum_notes(components["schemas"], sources.values())
    if "Problem" in components["schemas"]:
        _declare_gateway_answers(paths)
    add_examples(paths, recorded_examples())
    if components:
        merged["components"] = dict(components)
    # The platform's tags in the order a newcomer meets them, then any a service adds.
    known = {tag["name"]: tag for tag in api_info.TAGS}
    merged["tags"] = [*api_info.TAGS, *(tag for name, tag in tags.items() if name not in known)]
    return merged


def duplicate_operation_ids(document: JsonObject) -> dict[str, list[str]]:
    """Operation ids used by more than one operation, with the operations using each."""
    uses: dict[str, list[str]] = defaultdict(list)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in _METHODS and isinstance(operation, dict):
                uses[str(operation.get("operationId"))].append(f"{method.upper()} {path}")
    return {name: where for name, where in uses.items() if len(where) > 1}


def _add_enum_notes(schemas: JsonObject, documents: Iterable[JsonObject]) -> None:
    """A service may say more about an enum another one defines (`x-enum-notes`: which values the
    indicators service's standards put where); the notes go into the enum's description."""
    for document in documents:
        for name, notes in document.get("x-enum-notes", {}).items():
            schema = schemas.get(name)
            if not isinstance(schema, dict) or not notes:
                continue
            lines = "\n".join(f"- {note}" for note in notes)
            schema["description"] = (
                f"{schema.get('description', '').rstrip()}\n\nWhere each standard puts these "
                f"values:\n{lines}"
            ).lstrip()


@cache
def recorded_examples() -> dict[str, JsonObject]:
    if not EXAMPLES_FILE.exists():
        return {}
    examples: dict[str, JsonObject] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return examples


def add_examples(paths: JsonObject, examples: Mapping[str, JsonObject]) -> None:
    """Put each operation's recorded examples on its request body and success answers, where
    the operation gives none of its own."""
    for item in paths.values():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            recorded = examples.get(str(operation.get("operationId")))
            if recorded is None:
                continue
            body = operation.get("requestBody", {}).get("content", {})
            if "request" in recorded and body:
                media_type = "application/json" if "application/json" in body else next(iter(body))
                body[media_type].setdefault("example", recorded["request"])
            for status, answer in recorded.get("responses", {}).items():
                content = operation.get("responses", {}).get(status, {}).get("content", {})
                if "application/json" in content:
                    content["application/json"].setdefault("example", answer)


def _declare_gateway_answers(paths: JsonObject) -> None:
    """The answers the gateway itself may give on any API operation, whoever serves it: its rate
    limit (429), its body limit (413, where there is a body), and for proxied operations an
    upstream that is down (502) or too slow (504)."""
    for path, item in paths.items():
        if not path.startswith("/api/"):
            continue
        statuses = [429] + ([502, 504] if upstream_for(path) else [])
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status in statuses + ([413] if "requestBody" in operation else []):
                responses.setdefault(str(status), _problem_answer(status))


def _problem_answer(status: int) -> JsonObject:
    schema = {"$ref": "#/components/schemas/Problem"}
    media = {"schema": schema, "example": PROBLEM_EXAMPLES[str(status)]}
    return {"description": HTTPStatus(status).phrase, "content": {PROBLEM_JSON: media}}


def _declare_security(paths: JsonObject) -> bool:
    """Offer every credential on each operation that needs a caller; whether any does."""
    secured = False
    for item in paths.values():
        for method, operation in item.items():
            if method in _METHODS and isinstance(operation, dict) and operation.get("security"):
                operation["security"] = [dict(requirement) for requirement in SECURITY]
                secured = True
    return secured


def _resolve_conflicts(sources: Mapping[str, JsonObject]) -> dict[str, Renames]:
    renames: dict[str, Renames] = {source: {} for source in sources}
    # Renaming one component changes the content of those that refer to it, which may create new
    # conflicts; repeat until nothing more needs a new name.
    while True:
        definitions: dict[tuple[str, str], list[tuple[str, str, Any]]] = defaultdict(list)
        for source, document in sources.items():
            for section, original, body in _components(document):
                name = renames[source].get((section, original), original)
                definitions[section, name].append(
                    (source, original, _rewrite(body, renames[source]))
                )
        renamed_any = False
        for (section, _), defined in definitions.items():
            if section in _SHARED_SECTIONS or all(d[2] == defined[0][2] for d in defined):
                continue
            for source, original, _ in defined:
                if (section, original) not in renames[source]:
                    renames[source][section, original] = f"{source}_{original}"
                    renamed_any = True
        if not renamed_any:
            return renames


def _components(document: JsonObject) -> Iterator[tuple[str, str, Any]]:
    for section, items in document.get("components", {}).items():
        for name, body in items.items():
            yield section, name, body


def _rewrite(value: Any, renames: Renames) -> Any:
    """A copy of `value` with every `$ref` to a renamed component pointing at its new name."""
    if isinstance(value, dict):
        copied = {key: _rewrite(item, renames) for key, item in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            section, _, name = ref.removeprefix(_REF_PREFIX).partition("/")
            copied["$ref"] = f"{_REF_PREFIX}{section}/{renames.get((section, name), name)}"
        return copied
    if isinstance(value, list):
        return [_rewrite(item, renames) for item in value]
    return value


class CachedDocument:
    """Keeps the merged document for `ttl` seconds; one rebuild at a time."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._document: JsonObject | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, build: Callable[[], Awaitable[JsonObject]]) -> JsonObject:
        async with self._lock:
            if self._document is None or time.monotonic() >= self._expires_at:
                self._document = await build()
                self._expires_at = time.monotonic() + self._ttl
            return self._document
