"""One webhook request: to the pinned address, signed, no redirects, bounded in time and size."""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from notifications.webhooks import signing
from notifications.webhooks.addresses import ForbiddenURL, IPNetwork, resolve

EXCERPT_CHARACTERS = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    succeeded: bool
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


def make_client(
    *, connect_timeout: float, read_timeout: float, max_connections: int
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,  # a redirect could lead anywhere, past the address check
        trust_env=False,  # no proxy from the environment: the pinned address is the one called
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=32),
    )


async def post(
    client: httpx.AsyncClient,
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
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:  # an IPv6 literal
        host_header = f"[{target.host}]" + (
            "" if target.port == default_port else f":{target.port}"
        )
    pinned = httpx.URL(
        scheme=target.scheme,
        host=str(target.address),
        port=target.port,
        raw_path=target.path.encode(),
    )
    headers = {
        "host": host_header,
        "content-type": "application/json",
        "user-agent": "poverty-review-webhooks/1",
        **signing.headers(list(secrets_in_use), message_id, timestamp or int(time.time()), body),
    }
    try:
        request = client.build_request(
            "POST",
            pinned,
            content=body,
            headers=headers,
            # TLS: the certificate is checked against the URL's host, not the address.
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        )
        response = await client.send(request, stream=True)
        try:
            excerpt = await _read_at_most(response, max_response_bytes)
        finally:
            await response.aclose()
    except httpx.HTTPError as error:
        return Outcome(False, elapsed(), error=f"{type(error).__name__}: {error}"[:500])
    text = _scrubbed(excerpt.decode("utf-8", "replace"), secrets_in_use)[:EXCERPT_CHARACTERS]
    ok = 200 <= response.status_code < 300
    return Outcome(
        ok,
        elapsed(),
        status_code=response.status_code,
        error=None if ok else f"answered {response.status_code}",
        response_excerpt=text or None,
    )


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The response's first `limit` bytes; the rest is not read (nor waited for)."""
    received = bytearray()
    async for chunk in response.aiter_raw():
        received.extend(chunk)
        if len(received) >= limit:
            break
    return bytes(received[:limit])


def _scrubbed(text: str, secrets_in_use: Sequence[str]) -> str:
    # A receiver echoing what it got must not put a secret into the log.
    for secret in secrets_in_use:
        text = text.replace(secret, "[secret]").replace(secret.removeprefix("whsec_"), "[secret]")
    return text
