"""`Idempotency-Key` on creating POSTs: a retried request gets the first answer, not a second
record.

Integrating systems retry when an answer is lost. A POST that carries `Idempotency-Key: <key>`
(1–255 visible ASCII characters, unique per logical request, e.g. a UUID) is answered once; the
same caller sending the same key again within 24 hours gets the first answer again, replayed
from the service's own `idempotency_key` table (with `Idempotent-Replayed: true`), whichever
replica it reaches:

- the same key with another request (method, path, query or body) is refused with 422;
- the same key while the first request is still running is answered 409 (retry a moment later);
- a first answer of 5xx is not kept: the retry runs again.

Keys are per caller (the verified token's subject), so nobody can read another's answer by
guessing a key. The middleware claims the key in its own committed transaction before the
request runs, so two replicas racing on one key run the request once.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.auth.tokens import InvalidToken, KeysUnavailable, TokenVerifier
from kit.db import insert_for
from kit.errors import PROBLEM_JSON

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_FOR = timedelta(hours=24)
# Answer headers worth replaying; the request id is the retry's own.
_KEPT_HEADERS = frozenset({"content-type", "location", "etag"})


def define_idempotency_keys(metadata: MetaData) -> Table:
    """The `idempotency_key` table in a service's own metadata."""
    return Table(
        "idempotency_key",
        metadata,
        Column("caller", String(200), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer, nullable=True),  # null while the first request runs
        Column("headers", JSON, nullable=False),
        Column("body", LargeBinary, nullable=True),
        Column("expires_at", DateTime(timezone=True), nullable=False),
    )


def _problem(status: int, title: str, detail: str, **headers: str) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    errors = [{"loc": ["header", IDEMPOTENCY_HEADER], "msg": detail}] if status == 422 else []
    return JSONResponse(
        body | {"errors": errors}, status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


class IdempotencyMiddleware:
    """Pure ASGI: replays the first answer of a POST retried with the same `Idempotency-Key`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        table: Table,
        keep_for: timedelta = KEEP_FOR,
        owns: Callable[[str], bool] = lambda path: True,
    ) -> None:
        self.app = app
        self.table = table
        self.keep_for = keep_for
        # Which paths' POSTs this app answers itself: the gateway forwards the others, with the
        # header, to the service that keeps their keys.
        self.owns = owns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, IDEMPOTENCY_HEADER.lower()) if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST" or not self.owns(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not (0 < len(key) <= 255 and all("!" <= character <= "~" for character in key)):
            answer = _problem(
                422, "Unprocessable Content", "An Idempotency-Key is 1 to 255 visible characters."
            )
            await answer(scope, receive, send)
            return
        state: dict[str, Any] = scope.get("state", {})
        caller = await _caller(scope, state.get("token_verifier"))
        if caller is None:  # the route answers 401 itself
            await self.app(scope, receive, send)
            return
        body, receive = await _buffered(receive)
        fingerprint = _fingerprint(scope, body)
        sessionmaker: async_sessionmaker[AsyncSession] = state["sessionmaker"]
        first = await self._claim(sessionmaker, caller, key, fingerprint)
        if first is not None:
            await self._answer_again(first, fingerprint, scope, receive, send)
            return
        await self._run(sessionmaker, caller, key, scope, receive, send)

    async def _claim(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        caller: str,
        key: str,
        fingerprint: str,
    ) -> Any:
        """None when this request now holds the key; else the row of the one that does."""
        now = datetime.now(UTC)
        where = (self.table.c.caller == caller) & (self.table.c.key == key)
        async with sessionmaker() as session, session.begin():
            connection = await session.connection()
            await connection.execute(
                delete(self.table).where(where & (self.table.c.expires_at < now))
            )
            claimed = await connection.execute(
                insert_for(session, self.table)
                .values(
                    caller=caller,
                    key=key,
                    request_hash=fingerprint,
                    status=None,
                    headers={},
                    body=None,
                    expires_at=now + self.keep_for,
                )
                .on_conflict_do_nothing()
            )
            if claimed.rowcount == 1:
                return None
            return (await connection.execute(select(self.table).where(where))).one()

    async def _answer_again(
        self, first: Any, fingerprint: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if first.request_hash != fingerprint:
            answer = _problem(
                422,
                "Unprocessable Content",
                "This Idempotency-Key was used with another request: use a new key for a new "
                "request.",
            )
        elif first.status is None:
            answer = _problem(
                409,
                "Conflict",
                "A request with this Idempotency-Key is still running; retry in a moment.",
                **{"Retry-After": "1"},
            )
        else:
            headers = [(name.encode(), value.encode()) for name, value in first.headers.items()]
            await send(
                {
                    "type": "http.response.start",
                    "status": first.status,
                    "headers": [*headers, (REPLAYED_HEADER.lower().encode(), b"true")],
                }
            )
            await send({"type": "http.response.body", "body": first.body or b""})
            return
        await answer(scope, receive, send)

    async def _run(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        caller: str,
        key: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            # Held back until the answer is stored: a retry that follows the answer at once
            # must find it, not a key still running.
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        where = (self.table.c.caller == caller) & (self.table.c.key == key)
        try:
            await self.app(scope, receive, keep)
        except BaseException:
            await _forget(sessionmaker, self.table, where)
            raise
        status = int(start.get("status", 500))
        body = b"".join(chunks)
        if not start:  # the app answered nothing: nothing to keep or to pass on
            await _forget(sessionmaker, self.table, where)
            return
        if status >= 500:
            await _forget(sessionmaker, self.table, where)
        else:
            headers = {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in start.get("headers", [])
                if name.decode("latin-1").lower() in _KEPT_HEADERS
            }
            async with sessionmaker() as session, session.begin():
                connection = await session.connection()
                await connection.execute(
                    update(self.table)
                    .where(where)
                    .values(status=status, headers=headers, body=body)
                )
        await send(start)
        await send({"type": "http.response.body", "body": body})


async def _forget(sessionmaker: async_sessionmaker[AsyncSession], table: Table, where: Any) -> None:
    async with sessionmaker() as session, session.begin():
        await (await session.connection()).execute(delete(table).where(where))


def _header(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key.decode("latin-1").lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _caller(scope: Scope, verifier: TokenVerifier | None) -> str | None:
    authorization = _header(scope, "authorization") or ""
    scheme, _, token = authorization.partition(" ")
    if verifier is None or scheme.lower() != "bearer" or not token:
        return None
    try:
        return (await verifier.verify(token.strip())).subject
    except (InvalidToken, KeysUnavailable):
        return None


async def _buffered(receive: Receive) -> tuple[bytes, Callable[[], Awaitable[Message]]]:
    """The whole request body, and a `receive` that gives it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, again


def _fingerprint(scope: Scope, body: bytes) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    head = json.dumps([scope["method"], scope["path"], query])
    return hashlib.sha256(head.encode() + b"\n" + body).hexdigest()
