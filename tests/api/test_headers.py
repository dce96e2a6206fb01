"""Header values that are not ASCII, through the gateway as the embedded platform runs it and at
each service directly: passed on byte for byte, or refused naming the header; never a 500.

HTTP allows any byte from 0x80 to 0xFF in a field value (`obs-text`, RFC 9110 5.5): UTF-8 text such
as `Trình duyệt` arrives as those bytes, which Starlette reads as Latin-1.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from kit.auth import Role
from kit.errors import PROBLEM_JSON
from launcher.embedded import Platform, running_platform

pytestmark = pytest.mark.asyncio(loop_scope="module")

VALUES = {
    "utf-8 text": "Trình duyệt".encode(),
    "arabic-indic digit": '"٣"'.encode(),
    "latin-1 superscript three": b'"\xb3"',  # a digit to str.isdigit(), not to int()
    "full-width digits": '"１"'.encode(),
    "byte 0xff": b"\xff",
}
HEADERS = ["User-Agent", "If-Match", "Idempotency-Key", "X-Request-ID", "Authorization"]
cases = pytest.mark.parametrize(
    ("header", "value"),
    [(header, value) for header in HEADERS for value in VALUES.values()],
    ids=[f"{header}-{name}" for header in HEADERS for name in VALUES],
)
SERVICE_PATHS = {
    "households": "/api/v1/units?limit=1",
    "indicators": "/api/v1/standards",
    "notifications": "/api/v1/notifications",
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path_factory.mktemp("headers")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def household(platform: Platform) -> dict[str, Any]:
    async with platform.client() as admin:
        response = await admin.post(
            "/api/v1/households",
            json={"household_code": "HEADERS-1", "commune_code": "08764", "village": "Thôn 1"},
        )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _send(
    client: httpx.AsyncClient, method: str, path: str, header: str, value: bytes, **kw: Any
) -> httpx.Response:
    # httpx sends bytes values as they are.
    return await client.request(method, path, headers={header: value}, **kw)


def _role(header: str) -> Role | None:
    # Our own Authorization header, not a minted token's.
    return None if header == "Authorization" else Role.ADMIN


async def _answered(response: httpx.Response, header: str) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM_JSON
        if response.status_code in (400, 422):
            errors = response.json()["errors"]
            assert [error["loc"] for error in errors] == [["header", header.lower()]]


@cases
async def test_a_read_through_the_gateway_is_answered(
    platform: Platform, header: str, value: bytes
) -> None:
    async with platform.client(_role(header)) as client:
        for path in SERVICE_PATHS.values():
            response = await _send(client, "GET", path, header, value)

            await _answered(response, header)
            if header != "Authorization":
                assert response.status_code == 200, (path, response.text)


@cases
async def test_a_read_at_each_service_is_answered(
    platform: Platform, header: str, value: bytes
) -> None:
    for name, path in SERVICE_PATHS.items():
        async with platform.service_client(name, _role(header)) as client:
            response = await _send(client, "GET", path, header, value)

        await _answered(response, header)
        if header != "Authorization":
            assert response.status_code == 200, (name, response.text)


@cases
async def test_a_change_through_the_gateway_is_answered(
    platform: Platform, household: dict[str, Any], header: str, value: bytes
) -> None:
    async with platform.client(_role(header)) as client:
        response = await _send(
            client,
            "PATCH",
            f"/api/v1/households/{household['id']}",
            header,
            value,
            json={"village": "Thôn 1"},
        )

    await _answered(response, header)
    if header == "If-Match":
        assert response.status_code in (400, 422), response.text
