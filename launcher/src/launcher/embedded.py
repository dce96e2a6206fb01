"""`python -m launcher.embedded`: the three services and the gateway in one process.

SQLite files under a data folder, one in-process bus shared by every app, the gateway reaching the
services through httpx's ASGI transport. The outbox relays, the consumers and the recalculation
runner are tasks of the same event loop. The code paths are the distributed ones; only the
transports differ.
"""

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import structlog
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import gateway.config
import gateway.main
import households.config
import households.db
import households.main
import households.migrate
import indicators.config
import indicators.db
import indicators.handlers
import indicators.main
import indicators.migrate
import indicators.worker
import notifications.config
import notifications.handlers
import notifications.main
import notifications.migrate
from households.demo.load import load_demo
from kit.db import make_engine, make_sessionmaker
from kit.logging import configure_logging
from kit.messaging import InProcessBus, pending_count
from kit.messaging.topology import INDICATORS_QUEUE, NOTIFICATIONS_QUEUE
from kit.runner import build_relay
from kit.settings import ServiceSettings

RELAY_POLL_SECONDS = 0.05
S = TypeVar("S", bound=ServiceSettings)
log = structlog.get_logger()


@dataclass
class Platform:
    """A running embedded platform; `gateway` is the app to serve or to call in tests."""

    gateway: FastAPI
    bus: InProcessBus
    households_sessionmaker: async_sessionmaker[AsyncSession]
    outboxes: list[tuple[async_sessionmaker[AsyncSession], Table]]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.gateway), base_url="http://gateway"
        )

    async def settled(self) -> None:
        """Wait until every staged event has been published and handled (tests, demo)."""
        quiet_checks = 0
        while quiet_checks < 2:  # twice: a handler may stage new events as the queues drain
            await asyncio.sleep(RELAY_POLL_SECONDS * 2)
            await self.bus.drained()
            quiet_checks = quiet_checks + 1 if not await self._outbox_pending() else 0

    async def _outbox_pending(self) -> int:
        total = 0
        for sessionmaker, outbox in self.outboxes:
            async with sessionmaker() as session:
                total += await pending_count(session, outbox)
        return total


def embedded_settings(settings: type[S], data_dir: Path) -> S:
    """A service's settings for the embedded run; the environment still sets the rest."""
    name = settings.model_fields["SERVICE_NAME"].default
    return settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{data_dir / f'{name}.db'}",
        MESSAGE_BUS="inprocess",
        RELAY_POLL_SECONDS=RELAY_POLL_SECONDS,
        LOG_JSON=False,
    )


@contextlib.asynccontextmanager
async def running_platform(data_dir: Path) -> AsyncIterator[Platform]:
    """Migrate, start every app and background task, yield, then stop them all."""
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    households_settings = embedded_settings(households.config.Settings, data_dir)
    indicators_settings = embedded_settings(indicators.config.Settings, data_dir)
    notifications_settings = embedded_settings(notifications.config.Settings, data_dir)
    await households.migrate.migrate(households_settings)
    await indicators.migrate.migrate(indicators_settings)
    await notifications.migrate.migrate(notifications_settings)

    bus = InProcessBus()
    engines = {
        "households": make_engine(households_settings.DATABASE_URL),
        "indicators": make_engine(indicators_settings.DATABASE_URL),
        "notifications": make_engine(notifications_settings.DATABASE_URL),
    }
    apps = {
        "households": households.main.create_app(
            households_settings, bus=bus, engine=engines["households"]
        ),
        "indicators": indicators.main.create_app(
            indicators_settings, bus=bus, engine=engines["indicators"]
        ),
        "notifications": notifications.main.create_app(
            notifications_settings, bus=bus, engine=engines["notifications"]
        ),
    }
    sessionmakers = {name: make_sessionmaker(engine) for name, engine in engines.items()}
    async with contextlib.AsyncExitStack() as stack:
        managers = {
            name: await stack.enter_async_context(LifespanManager(app))
            for name, app in apps.items()
        }
        gateway_app = gateway.main.create_app(
            gateway.config.Settings(LOG_JSON=False),
            transports={
                name: httpx.ASGITransport(app=manager.app) for name, manager in managers.items()
            },
        )
        gateway_manager = await stack.enter_async_context(LifespanManager(gateway_app))
        await bus.consume(
            INDICATORS_QUEUE, indicators.handlers.consumer(sessionmakers["indicators"])
        )
        await bus.consume(
            NOTIFICATIONS_QUEUE, notifications.handlers.consumer(sessionmakers["notifications"])
        )
        tasks = [
            asyncio.create_task(
                build_relay(
                    households_settings, sessionmakers["households"], households.db.outbox, bus
                ).run()
            ),
            asyncio.create_task(
                build_relay(
                    indicators_settings, sessionmakers["indicators"], indicators.db.outbox, bus
                ).run()
            ),
            asyncio.create_task(
                indicators.worker.run_recalculations(
                    sessionmakers["indicators"], indicators_settings
                )
            ),
        ]
        platform = Platform(
            gateway=gateway_manager.app,  # type: ignore[arg-type]
            bus=bus,
            households_sessionmaker=sessionmakers["households"],
            outboxes=[
                (sessionmakers["households"], households.db.outbox),
                (sessionmakers["indicators"], indicators.db.outbox),
            ],
        )
        try:
            yield platform
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await bus.close()
            for engine in engines.values():
                await engine.dispose()


async def serve(data_dir: Path, host: str, port: int, demo_households: int) -> None:
    async with running_platform(data_dir) as platform:
        demo: asyncio.Task[int] | None = None
        if demo_households:
            # In the background: the API answers at once and rates fill in as households load.
            demo = asyncio.create_task(
                load_demo(platform.households_sessionmaker, households=demo_households)
            )
        config = uvicorn.Config(
            platform.gateway, host=host, port=port, log_level="info", lifespan="off"
        )
        print(  # noqa: T201 - the one thing a newcomer needs to read
            f"\nPlatform ready: http://{host}:{port}/docs  (API under /api/v1, "
            f"health at /health; data in {data_dir}/)\n",
            flush=True,
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            if demo is not None and not demo.done():
                demo.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--demo-households",
        type=int,
        default=3000,
        help="synthetic households to load on first start (0: none)",
    )
    arguments = parser.parse_args()
    configure_logging(households.config.Settings(LOG_JSON=False))
    asyncio.run(
        serve(arguments.data_dir, arguments.host, arguments.port, arguments.demo_households)
    )


if __name__ == "__main__":
    main()
