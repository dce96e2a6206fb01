"""The benchmark's login: fetched at once, whatever the machine's uptime (the monotonic clock of a
machine started minutes ago is below the refresh interval), then only when due."""

from typing import Any

import httpx
import pytest

from bench import platform
from bench.platform import TOKEN_REFRESH_SECONDS, Token


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": f"token-{len(seen)}"})

    real = httpx.AsyncClient

    def client(**options: Any) -> httpx.AsyncClient:
        return real(transport=httpx.MockTransport(gateway), **options)

    monkeypatch.setattr(platform.httpx, "AsyncClient", client)
    return seen


@pytest.mark.parametrize("uptime", [5.0, 100_000.0])
async def test_the_first_token_is_fetched_whatever_the_uptime(
    logins: list[httpx.Request], monkeypatch: pytest.MonkeyPatch, uptime: float
) -> None:
    monkeypatch.setattr(platform.time, "monotonic", lambda: uptime)
    token = Token("http://gateway", "admin", "secret")

    assert await token.fresh() == "token-1"
    assert token.header == {"Authorization": "Bearer token-1"}


async def test_a_token_is_fetched_again_only_when_due(
    logins: list[httpx.Request], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [30.0]
    monkeypatch.setattr(platform.time, "monotonic", lambda: now[0])
    token = Token("http://gateway", "admin", "secret")

    await token.fresh()
    now[0] += TOKEN_REFRESH_SECONDS - 1
    await token.fresh()
    assert len(logins) == 1
    now[0] += 2
    assert await token.fresh() == "token-2"
