"""Forwarding: stream each public request to the service that owns its path, and stream back."""

import time
from collections.abc import AsyncIterator, Iterable
from typing import Annotated
from urllib.parse import quote

import httpx
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.routing import iter_route_contexts
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.identity import API_KEY_HEADER
from gateway.routes import PUBLIC_PATHS, upstream_for
from gateway.state import MetricsDep, UpstreamsDep
from kit.auth import current_caller
from kit.errors import (
    MethodNotAllowed,
    NotFound,
    ServiceError,
    UpstreamTimeout,
    UpstreamUnavailable,
    allowed_methods,
)
from kit.logging import REQUEST_ID_HEADER, current_request_id

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
# Set by the gateway itself; a caller's values would be forged or stale. An API key never leaves
# the gateway (`gateway.identity` has exchanged it for a token already).
_REPLACED_ON_REQUEST = frozenset(
    {REQUEST_ID_HEADER, "x-forwarded-proto", "x-forwarded-host", API_KEY_HEADER}
)
# The gateway's own server writes these; passing the service's on would send them twice.
_REPLACED_ON_RESPONSE = frozenset({"date", "server"})
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# An answer announced at most this long is read whole and passed on in one piece: streaming it
# would cost a task group per request (Starlette's watch for a disconnect) and a send per chunk,
# for the few hundred bytes most answers are. Longer or unannounced ones stream.
WHOLE_BODY_LIMIT = 64 * 1024

log = structlog.get_logger()
router = APIRouter()


def _end_to_end(
    headers: Iterable[tuple[bytes, bytes]], *, also: frozenset[str]
) -> list[tuple[bytes, bytes]]:
    # Raw bytes, as they came: a value may hold any byte but controls (RFC 9110 5.5, `obs-text`),
    # which a str would have to be encoded back into, and ASCII cannot encode.
    # Names in lower case, as ASGI has them (Starlette's MutableHeaders matches them so).
    headers = [(name.lower(), value) for name, value in headers]
    # `Connection: x-foo` makes `x-foo` hop-by-hop too (RFC 9110 7.6.1).
    named = {
        token.strip().lower().decode("latin-1")
        for name, value in headers
        if name == b"connection"
        for token in value.split(b",")
    }
    dropped = HOP_BY_HOP | named | also
    return [(name, value) for name, value in headers if name.decode("latin-1") not in dropped]


def _outgoing_headers(request: Request) -> list[tuple[bytes, bytes]]:
    # The raw list keeps repeated headers, unlike a dict, and every byte as the caller sent it.
    headers = _end_to_end(request.headers.raw, also=_REPLACED_ON_REQUEST)
    request_id = current_request_id()
    if request_id is not None:
        headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    if request.client is not None:
        prior = [value for name, value in headers if name.lower() == b"x-forwarded-for"]
        headers = [(name, value) for name, value in headers if name.lower() != b"x-forwarded-for"]
        headers.append((b"x-forwarded-for", b", ".join([*prior, request.client.host.encode()])))
    headers.append((b"x-forwarded-proto", request.url.scheme.encode()))
    if "host" in request.headers:
        headers.append((b"x-forwarded-host", request.headers["host"].encode("latin-1")))
    return headers


def _target(request: Request) -> str:
    # The raw path keeps percent-escapes (`%2F`) exactly as the caller sent them.
    raw_path: bytes | None = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(request.url.path)
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _has_body(request: Request) -> bool:
    # HTTP/1.1 announces a body with one of these; streaming an empty body instead would make
    # httpx send `Transfer-Encoding: chunked` on every GET.
    return "content-length" in request.headers or "transfer-encoding" in request.headers


async def _already_read(content: bytes) -> AsyncIterator[bytes]:
    yield content


def _raw_body(upstream: httpx.Response) -> AsyncIterator[bytes]:
    # A response built in memory (an `httpx.MockTransport` handler's) is read on construction;
    # network and ASGI transports always leave the body to stream.
    if upstream.is_stream_consumed:
        return _already_read(upstream.content)
    return upstream.aiter_raw()


def _response_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    # Raw: a headers dict would fold repeated headers such as Set-Cookie.
    return _end_to_end(upstream.headers.raw, also=_REPLACED_ON_RESPONSE)


def _is_short(upstream: httpx.Response) -> bool:
    length = upstream.headers.get("content-length", "")
    return (
        length.isdigit()
        and int(length) <= WHOLE_BODY_LIMIT
        and "transfer-encoding" not in upstream.headers
    )


class _UpstreamStream(StreamingResponse):
    """Streams an upstream response and always releases its connection."""

    def __init__(self, upstream: httpx.Response) -> None:
        super().__init__(_raw_body(upstream), status_code=upstream.status_code)
        self._upstream = upstream
        self.raw_headers = _response_headers(upstream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Not a BackgroundTask: Starlette skips those when the client disconnects mid-stream,
        # which would leak the upstream connection.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._upstream.aclose()


async def forward(request: Request, upstream: httpx.AsyncClient, name: str) -> Response:
    """Stream `request` to `upstream` at the same path and stream the answer back (a short one
    is passed on whole)."""
    outgoing = upstream.build_request(
        request.method,
        _target(request),
        headers=_outgoing_headers(request),
        content=request.stream() if _has_body(request) else None,
    )
    try:
        response = await upstream.send(outgoing, stream=True)
        if not _is_short(response):
            return _UpstreamStream(response)
        try:
            # The body as sent (`aiter_raw`: still encoded, if it was).
            body = b"".join([chunk async for chunk in _raw_body(response)])
        finally:
            await response.aclose()
    except httpx.TimeoutException as exc:
        log.warning("proxy.upstream_timeout", upstream=name, error=repr(exc))
        raise UpstreamTimeout(f"The {name} service did not answer in time.") from None
    except httpx.TransportError as exc:
        log.warning("proxy.upstream_unavailable", upstream=name, error=repr(exc))
        raise UpstreamUnavailable(f"The {name} service is unavailable.") from None
    whole = Response(body, status_code=response.status_code)
    whole.raw_headers = _response_headers(response)
    return whole


async def owner(request: Request) -> str:
    """The service that owns the request's path; asked before the token, as routing would be.

    A path that no service owns is the gateway's own (`/api/v1/auth/token`) with a method it does
    not serve there (405, with `Allow`), or nobody's (404).
    """
    name = upstream_for(request.url.path)
    if name is not None:
        return name
    # Every route but this catch-all one, which would match any method.
    own_routes = [
        route
        for route in iter_route_contexts(request.app.router.routes)
        if route.endpoint is not proxy
    ]
    allowed = allowed_methods(request.scope, own_routes)
    if allowed:
        raise MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}.",
            headers={"Allow": ", ".join(allowed)},
        )
    raise NotFound(f"No service serves {request.url.path}.")


async def _forward_measured(
    request: Request, name: str, upstreams: UpstreamsDep, metrics: MetricsDep
) -> Response:
    started = time.perf_counter()
    try:
        response = await forward(request, upstreams[name], name)
    except ServiceError as exc:
        metrics.observe(name, exc.status_code, time.perf_counter() - started)
        raise
    metrics.observe(name, response.status_code, time.perf_counter() - started)
    return response


for _public_path in PUBLIC_PATHS:  # before the catch-all route below, which needs a token

    @router.api_route(_public_path, methods=["GET", "POST"], include_in_schema=False)
    async def public_proxy(
        request: Request,
        name: Annotated[str, Depends(owner)],
        upstreams: UpstreamsDep,
        metrics: MetricsDep,
    ) -> Response:
        """Forward a request of a path that needs no access token (`PUBLIC_PATHS`)."""
        return await _forward_measured(request, name, upstreams, metrics)


@router.api_route(
    "/api/v1/{path:path}",
    methods=METHODS,
    include_in_schema=False,
    dependencies=[Depends(owner), Depends(current_caller)],
)
async def proxy(
    request: Request,
    name: Annotated[str, Depends(owner)],
    upstreams: UpstreamsDep,
    metrics: MetricsDep,
) -> Response:
    """Forward the request, with its verified token, to the service that owns its path.

    A request without a valid token is refused here (401), never forwarded; the service verifies
    the token again and decides what the caller may do.
    """
    return await _forward_measured(request, name, upstreams, metrics)
