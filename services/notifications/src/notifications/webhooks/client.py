"""One webhook request: to the pinned address, signed, no redirects, bounded in time and size.

HTTP/1.1 is spoken with h11 over asyncio streams, on connections kept alive per pinned origin
(scheme, address, port, host) and reused by the next delivery to it. A general-purpose client
(httpx) cost about 2 ms of CPU per request here, its pool scanning every connection on each one;
this costs a tenth of that, and a delivery worker spends most of its CPU on these requests. Only
what a webhook needs: a POST with a body of known length, the status and at most
`max_response_bytes` of the answer; redirects are answers like any other (not followed).
"""

import asyncio
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import h11

from notifications.webhooks import signing
from notifications.webhooks.addresses import ForbiddenURL, IPNetwork, Target, resolve

EXCERPT_CHARACTERS = 500
USER_AGENT = "poverty-review-webhooks/1"
_READ_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class Outcome:
    succeeded: bool
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a connection goes: the address resolved and checked, and the URL's host (the Host
    header and the TLS server name) — a connection is only reused for the same all four."""

    scheme: str
    address: str
    port: int
    host: str


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = field(default_factory=time.monotonic)

    def usable(self, keepalive_seconds: float) -> bool:
        # A server closes idle connections after its own keep-alive time (uvicorn 5 s, nginx
        # 75 s): one it closed has its end of file fed already, one about to is left alone.
        fresh = time.monotonic() - self.idle_since < keepalive_seconds
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class Connections:
    """The delivery worker's connections, kept alive per origin and shared by its deliveries
    (one per request at a time); at most `max_idle_per_origin` wait idle for one origin."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        keepalive_seconds: float = 4.0,
        max_idle_per_origin: int = 64,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._keepalive_seconds = keepalive_seconds
        self._max_idle = max_idle_per_origin
        self._idle: dict[Origin, list[_Connection]] = {}
        self._pruned_at = time.monotonic()
        # The system's CAs, the certificate checked against the URL's host.
        self._tls = tls or ssl.create_default_context()

    def take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.usable(self._keepalive_seconds):
                return connection
            connection.close()
        return None

    def give_back(self, origin: Origin, connection: _Connection) -> None:
        self._prune()
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    def _prune(self) -> None:
        """Close, at most once a second, the idle connections past their time, of every origin:
        an endpoint that is not called again must not keep its sockets open for ever."""
        now = time.monotonic()
        if now - self._pruned_at < 1.0:
            return
        self._pruned_at = now
        for origin, idle in list(self._idle.items()):
            kept = [c for c in idle if c.usable(self._keepalive_seconds)]
            for connection in idle:
                if connection not in kept:
                    connection.close()
            if kept:
                self._idle[origin] = kept
            else:
                del self._idle[origin]

    def idle_count(self) -> int:
        return sum(len(idle) for idle in self._idle.values())

    async def open(self, origin: Origin) -> _Connection:
        tls = self._tls if origin.scheme == "https" else None
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(
                origin.address,
                origin.port,
                ssl=tls,
                server_hostname=origin.host if tls else None,
                limit=_READ_SIZE,
            )
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


class _Refused(Exception):
    """The exchange failed; `before_answer` when nothing at all came back."""

    def __init__(self, message: str, *, before_answer: bool) -> None:
        super().__init__(message)
        self.before_answer = before_answer


@dataclass(slots=True)
class _Answer:
    status_code: int
    body: bytes
    reusable: bool


async def post(
    connections: Connections,
    *,
    url: str,
    body: bytes,
    message_id: str,
    secrets_in_use: Sequence[str],
    allowed: Sequence[IPNetwork],
    max_response_bytes: int,
    timestamp: int | None = None,
) -> Outcome:
    """POST `body` to `url`; 2xx is success, anything else (a redirect too) a failure."""
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        target = await resolve(url, allowed)
    except ForbiddenURL as refused:
        return Outcome(False, elapsed(), error=f"refused: {refused}")
    signed = signing.headers(list(secrets_in_use), message_id, timestamp or int(time.time()), body)
    request = _request(target, body, signed)
    origin = Origin(target.scheme, str(target.address), target.port, target.host)
    try:
        answer = await _send(connections, origin, request, max_response_bytes)
    except _Refused as failure:
        return Outcome(False, elapsed(), error=str(failure)[:500])
    text = _scrubbed(answer.body.decode("utf-8", "replace"), secrets_in_use)[:EXCERPT_CHARACTERS]
    ok = 200 <= answer.status_code < 300
    return Outcome(
        ok,
        elapsed(),
        status_code=answer.status_code,
        error=None if ok else f"answered {answer.status_code}",
        response_excerpt=text or None,
    )


def _request(target: Target, body: bytes, signed: dict[str, str]) -> tuple[h11.Request, bytes]:
    default_port = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host  # an IPv6 literal
    if target.port != default_port:
        host += f":{target.port}"
    headers = [
        ("host", host),
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("user-agent", USER_AGENT),
        *signed.items(),
    ]
    return h11.Request(method="POST", target=target.path, headers=headers), body


async def _send(
    connections: Connections,
    origin: Origin,
    request: tuple[h11.Request, bytes],
    max_response_bytes: int,
) -> _Answer:
    """The exchange on a kept-alive connection, or a new one; a kept-alive connection that the
    server closed meanwhile (nothing came back on it) is replaced by a new one once."""
    for reusing in (True, False):
        connection = connections.take(origin) if reusing else None
        if reusing and connection is None:
            continue
        if connection is None:
            try:
                connection = await connections.open(origin)
            except TimeoutError:
                raise _Refused(
                    f"ConnectTimeout: no connection within {connections.connect_timeout} s",
                    before_answer=True,
                ) from None
            except OSError as error:
                raise _Refused(f"ConnectError: {error}", before_answer=True) from None
        try:
            answer = await _exchange(connection, request, max_response_bytes, connections)
        except _Refused as failure:
            connection.close()
            if reusing and failure.before_answer:
                continue
            raise
        except BaseException:
            connection.close()  # cancelled mid-exchange: the connection is in an unknown state
            raise
        if answer.reusable:
            connections.give_back(origin, connection)
        else:
            connection.close()
        return answer
    raise AssertionError("unreachable: the second pass opens a connection or raises")


async def _exchange(
    connection: _Connection,
    request: tuple[h11.Request, bytes],
    max_response_bytes: int,
    connections: Connections,
) -> _Answer:
    protocol = h11.Connection(h11.CLIENT)
    head, body = request
    data = b"".join(
        protocol.send(event) or b"" for event in (head, h11.Data(data=body), h11.EndOfMessage())
    )
    status: int | None = None
    received = bytearray()
    got_anything = False
    try:
        async with asyncio.timeout(connections.read_timeout):
            connection.writer.write(data)
            await connection.writer.drain()
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    chunk = await connection.reader.read(_READ_SIZE)
                    if not chunk and status is None:
                        raise _Refused(
                            "RemoteProtocolError: the server closed the connection without "
                            "answering",
                            before_answer=not got_anything,
                        )
                    got_anything = got_anything or bool(chunk)
                    protocol.receive_data(chunk)
                elif isinstance(event, h11.Response):
                    status = event.status_code
                    if max_response_bytes == 0:
                        return _Answer(status, b"", reusable=False)
                elif isinstance(event, h11.Data):
                    received.extend(event.data)
                    if len(received) >= max_response_bytes:  # the rest is not read
                        return _Answer(status or 0, bytes(received[:max_response_bytes]), False)
                elif isinstance(event, h11.EndOfMessage):
                    assert status is not None
                    reusable = protocol.their_state is h11.DONE and not protocol.trailing_data[0]
                    return _Answer(status, bytes(received), reusable)
                elif isinstance(event, h11.ConnectionClosed):
                    raise _Refused(
                        "RemoteProtocolError: the server closed the connection without answering",
                        before_answer=not got_anything,
                    )
                # InformationalResponse (100 Continue): nothing to do, read on
    except TimeoutError:
        raise _Refused(
            f"ReadTimeout: no answer within {connections.read_timeout} s", before_answer=False
        ) from None
    except h11.RemoteProtocolError as error:
        raise _Refused(f"RemoteProtocolError: {error}", before_answer=not got_anything) from None
    except OSError as error:
        raise _Refused(f"{type(error).__name__}: {error}", before_answer=not got_anything) from None


def _scrubbed(text: str, secrets_in_use: Sequence[str]) -> str:
    # A receiver echoing what it got must not put a secret into the log.
    for secret in secrets_in_use:
        text = text.replace(secret, "[secret]").replace(secret.removeprefix("whsec_"), "[secret]")
    return text
