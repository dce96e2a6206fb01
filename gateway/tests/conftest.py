"""Gateway test fixtures: the app run in-process; every upstream is an `httpx.MockTransport`."""

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeAlias

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.config import Settings
from gateway.main import create_app
from gateway.routes import UPSTREAMS

Handler: TypeAlias = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class Serve(Protocol):
    def __call__(
        self, settings: Settings | None = None, **handlers: Handler
    ) -> AbstractAsyncContextManager[httpx.AsyncClient]: ...


def down(request: httpx.Request) -> httpx.Response:
    """An upstream that refuses connections."""
    raise httpx.ConnectError("Connection refused", request=request)


@pytest.fixture
def settings() -> Settings:
    # Every field the tests rely on is explicit, so the environment cannot change them.
    return Settings(
        ENVIRONMENT="test",
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
        API_VERSION="0.1.0",
        HOUSEHOLDS_URL="http://households.internal:8001",
        INDICATORS_URL="http://indicators.internal:8002",
        NOTIFICATIONS_URL="http://notifications.internal:8003",
        OPENAPI_CACHE_SECONDS=30,
    )


@pytest.fixture
def serve(settings: Settings) -> Serve:
    """`async with serve(households=handler) as client:`; upstreams not named are down."""

    @asynccontextmanager
    async def serve(
        settings: Settings | None = settings, **handlers: Handler
    ) -> AsyncIterator[httpx.AsyncClient]:
        transports = {name: httpx.MockTransport(handlers.get(name, down)) for name in UPSTREAMS}
        app = create_app(settings, transports=transports)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
            ) as client,
        ):
            yield client

    return serve
