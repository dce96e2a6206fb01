"""The gateway's connections to a service: opened once and kept for the next requests, also under
more concurrent requests than httpx keeps by default; let go of before the service would close
them."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager

from gateway.config import Settings
from gateway.main import create_app
from gateway.routes import UPSTREAMS
from kit.auth import Role
from kit.testing import bearer

CONCURRENT = 40  # more than httpx's default of 20 kept-alive connections
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Service:
    """An HTTP/1.1 service that keeps connections open, answers each GET after a moment (so that
    concurrent requests need connections of their own) and counts the connections it accepted."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(0.05)
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def service() -> AsyncIterator[tuple[Service, int]]:
    service = Service()
    server = await asyncio.start_server(service.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield service, port


async def test_connections_to_a_service_are_kept_under_concurrent_requests(
    settings: Settings, service: tuple[Service, int]
) -> None:
    upstream, port = service
    settings = settings.model_copy(update={"HOUSEHOLDS_URL": f"http://127.0.0.1:{port}"})
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    app = create_app(settings, transports={n: down for n in UPSTREAMS if n != "households"})
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, client=("127.0.0.1", 50000)),
            base_url="http://gateway",
            headers=bearer(Role.ADMIN),
        ) as client,
    ):
        for _ in range(2):
            answers = await asyncio.gather(
                *(client.get(f"/api/v1/households/{i}") for i in range(CONCURRENT))
            )
            assert [a.status_code for a in answers] == [200] * CONCURRENT

    # The second round found every connection of the first one open.
    assert upstream.connections == CONCURRENT


def test_an_idle_connection_is_let_go_before_the_service_closes_it(settings: Settings) -> None:
    assert settings.UPSTREAM_KEEPALIVE_SECONDS < uvicorn.Config(app=None).timeout_keep_alive
