"""One error shape for every service: RFC 9457 `application/problem+json`.

Exception tree (raise these from services; routers never build `HTTPException`)::

    ServiceError (500)
    ├── BadRequest (400)
    ├── Unauthorized (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── MethodNotAllowed (405)     with `Allow`: every method served at the path
    ├── Conflict (409)
    ├── PreconditionFailed (412)   an If-Match that lost the race
    ├── ContentTooLarge (413)      an upload that is, or expands to, more than a limit
    ├── PreconditionRequired (428) an update without If-Match
    ├── InvalidInput (422)         a rule on the input's fields; carries field errors
    ├── UpstreamUnavailable (502)
    ├── ServiceUnavailable (503)
    └── UpstreamTimeout (504)

Request validation errors from FastAPI are rendered the same way, with one entry per field.
"""

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import RouteContext, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from kit.db import unavailable

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger()


class FieldError(BaseModel):
    loc: list[str | int] = Field(
        description=(
            "Where the problem is: `body`, `query`, `path` or `header`, then the field's path."
        )
    )
    msg: str = Field(description="What is wrong with it, for people.")


class Problem(BaseModel):
    """RFC 9457 problem details, with `errors` listing field-level problems."""

    type: str = Field(
        default="about:blank",
        description=(
            "A URI naming the kind of problem; `about:blank` when the status says it all."
        ),
    )
    title: str = Field(description="The status's short name.")
    status: int = Field(description="The HTTP status code.")
    detail: str | None = Field(
        default=None, description="What went wrong in this request, for people."
    )
    errors: list[FieldError] = Field(
        default=[], description="One entry per refused field (422); empty otherwise."
    )


class ServiceError(Exception):
    """An expected failure that maps to an HTTP status; rendered by one handler."""

    status_code: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})  # e.g. WWW-Authenticate on 401, Retry-After on 429


class BadRequest(ServiceError):
    status_code = 400
    title = "Bad Request"


class Unauthorized(ServiceError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status_code = 404
    title = "Not Found"


class MethodNotAllowed(ServiceError):
    status_code = 405
    title = "Method Not Allowed"


class Conflict(ServiceError):
    status_code = 409
    title = "Conflict"


class PreconditionFailed(ServiceError):
    status_code = 412
    title = "Precondition Failed"


class ContentTooLarge(ServiceError):
    status_code = 413
    title = "Content Too Large"


class InvalidInput(ServiceError):
    status_code = 422
    title = "Unprocessable Content"

    @classmethod
    def field(cls, loc: Sequence[str | int], msg: str) -> "InvalidInput":
        """One field's problem, e.g. `InvalidInput.field(["body", "commune_code"], "unknown")`."""
        return cls(msg, errors=[FieldError(loc=list(loc), msg=msg)])


class TooManyRequests(ServiceError):
    status_code = 429
    title = "Too Many Requests"


class UpstreamUnavailable(ServiceError):
    status_code = 502
    title = "Bad Gateway"


class ServiceUnavailable(ServiceError):
    status_code = 503
    title = "Service Unavailable"


class UpstreamTimeout(ServiceError):
    status_code = 504
    title = "Gateway Timeout"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(mode="json"),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    problem = Problem(title=exc.title, status=exc.status_code, detail=exc.detail, errors=exc.errors)
    return problem_response(problem, headers=exc.headers or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            loc=[str(part) if not isinstance(part, int) else part for part in e["loc"]],
            msg=e["msg"],
        )
        for e in exc.errors()
    ]
    fields = ", ".join(".".join(str(part) for part in error.loc) for error in errors)
    problem = Problem(
        title="Unprocessable Content",
        status=422,
        detail=f"Invalid input in: {fields}.",
        errors=errors,
    )
    return problem_response(problem)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    problem = Problem(
        title=_reason(exc.status_code), status=exc.status_code, detail=str(exc.detail)
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route whose path matched; a path served
        # by several routes (GET and POST `/rounds`) allows them all.
        headers["Allow"] = ", ".join(allowed_methods(request.scope, request.app.router.routes))
    return problem_response(problem, headers=headers)


def allowed_methods(scope: Scope, routes: Iterable[BaseRoute | RouteContext]) -> list[str]:
    """The methods `routes` serve at the path of `scope`, whatever its method (for `Allow`)."""
    methods: set[str] = set()
    # Routers included in an app are routes of their own; their contexts are the routes they hold.
    for route in iter_route_contexts(list(routes)):
        if route.methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


DATABASE_RETRY_AFTER_SECONDS = 5


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if unavailable(exc):
        # A restart or a lost connection, not a defect: the client may try again shortly.
        log.warning("request.database_unavailable", path=request.url.path, error=str(exc))
        problem = Problem(
            title="Service Unavailable",
            status=503,
            detail="The database cannot be reached just now; try again shortly.",
        )
        return problem_response(problem, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
    log.exception("request.unhandled_error", path=request.url.path)
    problem = Problem(
        title="Internal Server Error",
        status=500,
        detail="An unexpected error occurred; it has been logged with this request's id.",
    )
    return problem_response(problem)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_error_handlers(app: FastAPI) -> None:
    """Render every error of `app` as problem+json."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


class PreconditionRequired(ServiceError):
    status_code = 428
    title = "Precondition Required"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring that these statuses answer with a problem document."""
    # `model` puts the Problem schema among the components (FastAPI also lists it under
    # application/json, which this response never is); the problem+json entry is what is sent.
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": _reason(status),
        }
        for status in statuses
    }


def document_unreadable_bodies(app: FastAPI) -> None:
    """Declare 400 on every operation of `app` that takes a request body.

    FastAPI answers 400 itself, before any validation, to a body it cannot read at all (bytes that
    are not UTF-8 where JSON is expected, a broken multipart form).
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        document = generate()
        if fresh:
            _declare_bad_request(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend the document


def _declare_bad_request(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
    [declared] = problem_responses(400).values()
    response = {key: value for key, value in declared.items() if key != "model"}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("400", response)


PROBLEM_RESPONSES = problem_responses(401, 403, 404, 422)
"""The statuses every business route shares (no token, wrong role, no such object, bad input)."""
