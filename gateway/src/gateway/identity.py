"""Who is calling, before any route runs: API keys exchanged for tokens, and rate limits.

For every `/api/` request the middleware names the caller for the rate limit — the subject of a
valid bearer token, the API key, or the client's address when neither is valid — and spends one
request of that caller's bucket (429 with Retry-After when it is empty). A request with an
`X-API-Key` is refused (401) unless the key is known and not revoked; otherwise the key is
replaced by an access token minted for this one request (subject `api-key:<id>`, the key's role and
scope). So the routes after it, the gateway's own and every service's, only ever see tokens, and
the key itself never leaves the gateway.
"""

from typing import Any

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.api_keys import service as api_key_service
from gateway.api_keys.exceptions import InvalidApiKey
from gateway.api_keys.models import ApiKey
from gateway.auth.issuer import TokenIssuer
from gateway.protection.ratelimit import TokenBuckets, retry_after
from kit.auth import InvalidToken, Role, TokenVerifier
from kit.errors import Problem, ServiceError, TooManyRequests, problem_response

API_KEY_HEADER = "x-api-key"
log = structlog.get_logger()


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class CallerMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        try:
            scope = await self._identified(scope)
        except ServiceError as error:
            problem = Problem(title=error.title, status=error.status_code, detail=error.detail)
            await problem_response(problem, error.headers or None)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _identified(self, scope: Scope) -> Scope:
        state: dict[str, Any] = scope["state"]
        limiter: TokenBuckets = state["rate_limit"]
        headers = Headers(scope=scope)
        anonymous = f"ip:{client_address(scope)}"
        secret = headers.get(API_KEY_HEADER)
        if secret is not None:
            key = await self._api_key(state, secret)
            _spend(limiter, api_key_service.subject_of(key) if key else anonymous)
            if key is None:
                raise InvalidApiKey()
            issuer: TokenIssuer = state["issuer"]
            token = issuer.issue(
                subject=api_key_service.subject_of(key),
                role=Role(key.role),
                unit_scope=tuple(key.unit_scope) if key.unit_scope is not None else None,
                lifetime=issuer.api_key_lifetime,
            )
            kept = [
                (name, value)
                for name, value in scope["headers"]
                if name not in (b"authorization", API_KEY_HEADER.encode())
            ]
            authorization = (b"authorization", f"Bearer {token}".encode())
            return {**scope, "headers": [*kept, authorization]}
        _spend(limiter, await _subject(state["token_verifier"], headers) or anonymous)
        return scope

    async def _api_key(self, state: dict[str, Any], secret: str) -> ApiKey | None:
        recorder: api_key_service.UseRecorder = state["api_key_uses"]
        async with state["sessionmaker"]() as session, session.begin():
            key: ApiKey | None = await api_key_service.find_valid(session, secret)
            if key is not None and recorder.due(key):
                await recorder.record(session, key)
        return key


async def _subject(verifier: TokenVerifier, headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return (await verifier.verify(token.strip())).subject
    except InvalidToken:
        return None  # counted as anonymous here; the route answers 401


def _spend(limiter: TokenBuckets, key: str) -> None:
    wait = limiter.take(key)
    if wait:
        log.info("ratelimit.refused", caller=key)
        raise TooManyRequests(
            "Too many requests: slow down and retry after the time given in Retry-After.",
            headers={"Retry-After": retry_after(wait)},
        )
