"""The gateway app: the platform's one public entry.

Run with `uvicorn gateway.main:create_app --factory --port 8000`.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from gateway import docs, ops, proxy
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.openapi import TITLE, CachedDocument
from gateway.routes import UPSTREAMS
from gateway.state import State
from kit.errors import install_error_handlers
from kit.logging import RequestIdMiddleware, configure_logging


def _client(
    url: str, settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        settings.UPSTREAM_READ_TIMEOUT_SECONDS,
        connect=settings.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
        # Waiting for a free pooled connection is a sign of overload: fail as fast as connecting.
        pool=settings.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
    )
    # No proxies from the environment: services are reached directly.
    client = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport, trust_env=False)
    # A proxy forwards the caller's headers, not httpx's defaults (an Accept-Encoding the caller
    # never sent would hand it a compressed body it did not ask for).
    client.headers.clear()
    return client


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    """Build the gateway; `transports` replaces the network for the named upstreams."""
    settings = settings or Settings()
    transports = transports or {}
    unknown = set(transports) - set(UPSTREAMS)
    if unknown:
        raise ValueError(f"No such upstream: {', '.join(sorted(unknown))}.")
    configure_logging(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            upstreams = {
                name: await stack.enter_async_context(_client(url, settings, transports.get(name)))
                for name, url in settings.upstream_urls().items()
            }
            yield {
                "settings": settings,
                "upstreams": upstreams,
                "metrics": metrics,
                "openapi": CachedDocument(settings.OPENAPI_CACHE_SECONDS),
            }

    # FastAPI's own docs routes would collide with the merged ones served by `docs.router`;
    # trailing slashes are the services' business, so the gateway never redirects to add one.
    app = FastAPI(
        title=TITLE,
        version=settings.API_VERSION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(docs.router)
    # Last: its catch-all path must not shadow the gateway's own routes.
    app.include_router(proxy.router)
    return app
