"""The operations listener: `/metrics`, `/health/live` and `/health/ready` on a port of their own.

Relays, workers and the importer serve no HTTP, and the gateway's public port must not show its
metrics; each of them runs this small app on `METRICS_PORT` inside its own event loop. Readiness
asks what the process depends on: every database engine it made answers `SELECT 1`, every broker
connection it holds is up.
"""

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import REGISTRY, CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kit.metrics import PROCESS_SAMPLER, Sampler, tracked_engines

log = structlog.get_logger()

Check = Callable[[], Awaitable[bool]]

_BUSES: "weakref.WeakSet[Any]" = weakref.WeakSet()


def track_bus(bus: Any) -> None:
    """Readiness of this process includes `bus`'s connection (`kit.service.make_bus` calls it)."""
    _BUSES.add(bus)


async def _database_ready(engines: Iterable[AsyncEngine], seconds: float) -> dict[str, str]:
    checks: dict[str, str] = {}
    for engine in engines:
        name = f"database:{engine.url.database}"
        try:
            async with asyncio.timeout(seconds), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            checks[name] = f"unavailable: {type(error).__name__}"
        else:
            checks.setdefault(name, "ok")
    return checks


async def readiness(
    seconds: float = 2.0,
    *,
    engines: Iterable[AsyncEngine] | None = None,
    buses: Iterable[Any] | None = None,
) -> dict[str, str]:
    """Each dependency of this process and whether it answers now.

    By default every engine (`kit.db.make_engine`) and every broker connection
    (`kit.service.make_bus`) the process made.
    """
    checks = await _database_ready(tracked_engines() if engines is None else engines, seconds)
    for number, bus in enumerate(list(_BUSES) if buses is None else buses):
        healthy = await bus.is_healthy()
        checks[f"broker:{number}" if number else "broker"] = "ok" if healthy else "unavailable"
    return checks


def operations_app(
    *,
    registries: Iterable[CollectorRegistry] = (),
    ready_timeout: float = 2.0,
    engines: Iterable[AsyncEngine] | None = None,
    buses: Iterable[Any] | None = None,
) -> FastAPI:
    """The listener's app; `registries` are served after the default one (the gateway's own).

    `engines` and `buses` are what readiness checks; by default all the process made.
    """
    extra = list(registries)
    chosen_engines = None if engines is None else list(engines)
    chosen_buses = None if buses is None else list(buses)
    app = FastAPI(title="operations", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/metrics")
    async def metrics() -> Response:
        body = generate_latest(REGISTRY) + b"".join(generate_latest(r) for r in extra)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        """The event loop answers (a process stuck in a blocking call would not)."""
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        checks = await readiness(ready_timeout, engines=chosen_engines, buses=chosen_buses)
        ok = all(value == "ok" for value in checks.values())
        status = "ok" if ok else "unavailable"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ok else 503)

    return app


class _Server(uvicorn.Server):
    # The process's own signal handlers (kit.runner, or the main uvicorn) stop it; this server
    # must not take SIGINT/SIGTERM over and re-raise them later.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serving(
    port: int | None,
    *,
    host: str = "127.0.0.1",
    registries: Iterable[CollectorRegistry] = (),
    sampler: Sampler = PROCESS_SAMPLER,
    engines: Iterable[AsyncEngine] | None = None,
    buses: Iterable[Any] | None = None,
) -> AsyncIterator[None]:
    """Serve the operations app on `host:port` and run `sampler`, for the block's duration.

    With `port` None (embedded run, tests) nothing is served; samples are still taken.
    """
    sampler.start()
    server: _Server | None = None
    task: asyncio.Task[None] | None = None
    if port is not None:
        config = uvicorn.Config(
            operations_app(registries=registries, engines=engines, buses=buses),
            host=host,
            port=port,
            log_config=None,  # the process's logging (kit.logging) stays as it is
            access_log=False,
            lifespan="off",
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve())
        # Uvicorn offers a flag, not an event, for "listening".
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # the port was taken: fail loudly, not silently unobservable
            raise RuntimeError(f"the operations listener on {host}:{port} stopped at once")
        log.info("operations.listening", host=host, port=port)
    try:
        yield
    finally:
        if server is not None and task is not None:
            server.should_exit = True
            await task
        await sampler.stop()


__all__ = ["operations_app", "readiness", "serving", "track_bus"]
