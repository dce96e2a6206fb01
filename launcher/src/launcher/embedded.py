"""`python -m launcher.embedded`: the three services and the gateway in one process.

SQLite files under a data folder, one in-process bus shared by every app, the gateway reaching the
services through httpx's ASGI transport. The outbox relays, the consumers, the recalculation
runner and the bulk-import runner are tasks of the same event loop. The code paths are the
distributed ones; only the transports differ.
"""

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Generator, Mapping
from dataclasses import dataclass
from datetime import timedelta
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

import gateway.db
import gateway.main
import gateway.migrate
import households.config
import households.db
import households.importer
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
import notifications.worker
from gateway.auth.issuer import load_signing_key
from gateway.config import Settings as GatewaySettings
from households.review.service import Rules
from kit.auth import Role, SigningKey, StaticKeys
from kit.db import make_engine, make_sessionmaker
from kit.logging import configure_logging
from kit.messaging import InProcessBus, pending_count, unpublish
from kit.messaging.topology import INDICATORS_QUEUE, NOTIFICATIONS_QUEUE
from kit.runner import build_relay, consume
from kit.settings import ServiceSettings
from launcher.demo_users import ensure_demo_users, login_help
from synthetic.demo import LOADER, load_demo

RELAY_POLL_SECONDS = 0.05
S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")
log = structlog.get_logger()


class MintedToken(httpx.Auth):
    """Signs a fresh access token for every request, so a client never holds an expired one."""

    def __init__(
        self,
        key: SigningKey,
        settings: GatewaySettings,
        *,
        role: Role,
        units: tuple[str, ...] | None,
        subject: str | None = None,
    ) -> None:
        self._key, self._settings = key, settings
        self._role, self._units = role, units
        self._subject = subject or f"embedded-{role.value}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._key.issue(
            issuer=self._settings.AUTH_ISSUER,
            audience=self._settings.AUTH_AUDIENCE,
            subject=self._subject,
            role=self._role,
            unit_scope=self._units,
            lifetime=timedelta(minutes=self._settings.ACCESS_TOKEN_MINUTES),
        )
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


@dataclass
class Platform:
    """A running embedded platform; `gateway` is the app to serve or to call in tests."""

    gateway: FastAPI
    services: dict[str, FastAPI]
    bus: InProcessBus
    households_sessionmaker: async_sessionmaker[AsyncSession]
    indicators_sessionmaker: async_sessionmaker[AsyncSession]
    gateway_sessionmaker: async_sessionmaker[AsyncSession]
    notifications_sessionmaker: async_sessionmaker[AsyncSession]
    outboxes: list[tuple[async_sessionmaker[AsyncSession], Table]]
    signing_key: SigningKey
    gateway_settings: GatewaySettings
    notifications_settings: notifications.config.Settings

    def client(
        self,
        role: Role | None = Role.ADMIN,
        units: tuple[str, ...] | None = None,
        *,
        subject: str | None = None,
    ) -> httpx.AsyncClient:
        """A client of the gateway acting as `role` over `units` (None: the whole country), with
        tokens signed by the platform's key; `role=None`: an anonymous client."""
        return self._client(self.gateway, "http://gateway", role, units, subject)

    def service_client(
        self,
        name: str,
        role: Role | None = Role.ADMIN,
        units: tuple[str, ...] | None = None,
    ) -> httpx.AsyncClient:
        """A client of one service app directly, past the gateway (tests of its own checks)."""
        return self._client(self.services[name], f"http://{name}", role, units, None)

    def _client(
        self,
        app: FastAPI,
        base_url: str,
        role: Role | None,
        units: tuple[str, ...] | None,
        subject: str | None,
    ) -> httpx.AsyncClient:
        auth = (
            MintedToken(
                self.signing_key, self.gateway_settings, role=role, units=units, subject=subject
            )
            if role is not None
            else None
        )
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=base_url, auth=auth
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


def embedded_gateway_settings(data_dir: Path, **overrides: object) -> GatewaySettings:
    """The gateway's settings for the embedded run: its database and key in the data folder."""
    values: dict[str, object] = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'gateway.db'}",
        "SIGNING_KEY_FILE": data_dir / "signing-key.pem",
        "LOG_JSON": False,
        "MESSAGE_BUS": "inprocess",
        "RELAY_POLL_SECONDS": RELAY_POLL_SECONDS,
    }
    return GatewaySettings(**(values | overrides))  # type: ignore[arg-type]


def keep_private(data_dir: Path) -> None:
    """The data folder for its owner only: it holds password hashes, the signing key and
    households' personal data. Tightened too when an earlier run left it (or a file) open; the
    databases are created owner-only (`kit.db.keep_sqlite_private`), the key too."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for path in data_dir.iterdir():
        if path.is_file():
            path.chmod(0o600)


@contextlib.asynccontextmanager
async def running_platform(
    data_dir: Path,
    *,
    gateway_settings: GatewaySettings | None = None,
    notifications_overrides: Mapping[str, object] | None = None,
) -> AsyncIterator[Platform]:
    """Migrate, start every app and background task, yield, then stop them all."""
    await asyncio.to_thread(keep_private, data_dir)
    households_settings = embedded_settings(households.config.Settings, data_dir).model_copy(
        update={"IMPORT_DIR": str(data_dir / "imports")}
    )
    indicators_settings = embedded_settings(indicators.config.Settings, data_dir)
    # E-mails are written as .eml files into the data folder (docs/notifications.md).
    notifications_settings = embedded_settings(notifications.config.Settings, data_dir).model_copy(
        update={"EMAIL_FOLDER": str(data_dir / "mail"), "DELIVERY_POLL_SECONDS": 0.2}
        | dict(notifications_overrides or {})
    )
    gateway_settings = gateway_settings or embedded_gateway_settings(data_dir)
    # The migrations log before any app has configured logging (each app does when built).
    configure_logging(households_settings)
    await households.migrate.migrate(households_settings)
    await indicators.migrate.migrate(indicators_settings)
    await notifications.migrate.migrate(notifications_settings)
    await gateway.migrate.migrate(gateway_settings)
    # One key for the process: the gateway signs with it, the services verify with its public
    # half, handed over directly instead of fetched.
    signing_key = await asyncio.to_thread(load_signing_key, gateway_settings.SIGNING_KEY_FILE)
    token_keys = StaticKeys(signing_key.jwks())

    bus = InProcessBus()
    engines = {
        "households": make_engine(households_settings.DATABASE_URL),
        "indicators": make_engine(indicators_settings.DATABASE_URL),
        "notifications": make_engine(notifications_settings.DATABASE_URL),
        "gateway": make_engine(gateway_settings.DATABASE_URL),
    }
    apps = {
        "households": households.main.create_app(
            households_settings, bus=bus, engine=engines["households"], token_keys=token_keys
        ),
        "notifications": notifications.main.create_app(
            notifications_settings,
            bus=bus,
            engine=engines["notifications"],
            token_keys=token_keys,
        ),
    }
    sessionmakers = {name: make_sessionmaker(engine) for name, engine in engines.items()}
    async with contextlib.AsyncExitStack() as stack:
        managers = {
            name: await stack.enter_async_context(LifespanManager(app))
            for name, app in apps.items()
        }
        # Built once the households app runs: reconciliation asks it directly, in process.
        indicators_app = indicators.main.create_app(
            indicators_settings,
            bus=bus,
            engine=engines["indicators"],
            token_keys=token_keys,
            households=httpx.ASGITransport(app=managers["households"].app),
        )
        managers["indicators"] = await stack.enter_async_context(LifespanManager(indicators_app))
        gateway_app = gateway.main.create_app(
            gateway_settings,
            transports={
                name: httpx.ASGITransport(app=manager.app) for name, manager in managers.items()
            },
            engine=engines["gateway"],
            signing_key=signing_key,
            bus=bus,  # its relay, in its lifespan, publishes the changes of access
        )
        gateway_manager = await stack.enter_async_context(LifespanManager(gateway_app))
        await consume(
            indicators_settings,
            bus,
            INDICATORS_QUEUE,
            indicators.handlers.consumer(sessionmakers["indicators"]),
        )
        await consume(
            notifications_settings,
            bus,
            NOTIFICATIONS_QUEUE,
            notifications.handlers.consumer(sessionmakers["notifications"]),
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
            asyncio.create_task(
                indicators.worker.run_target_checks(
                    sessionmakers["indicators"], indicators_settings
                )
            ),
            asyncio.create_task(
                indicators.worker.run_left_behind_checks(
                    sessionmakers["indicators"], indicators_settings
                )
            ),
            asyncio.create_task(
                indicators.worker.run_what_ifs(sessionmakers["indicators"], indicators_settings)
            ),
            asyncio.create_task(
                households.importer.run_imports(sessionmakers["households"], households_settings)
            ),
            asyncio.create_task(
                notifications.worker.run_deliveries(
                    sessionmakers["notifications"], notifications_settings
                )
            ),
            asyncio.create_task(
                notifications.worker.run_schedules(
                    sessionmakers["notifications"], notifications_settings
                )
            ),
            asyncio.create_task(
                notifications.worker.run_dead_letter_watch(
                    sessionmakers["notifications"], notifications_settings, bus
                )
            ),
            asyncio.create_task(
                indicators.worker.run_report_jobs(sessionmakers["indicators"], indicators_settings)
            ),
        ]
        platform = Platform(
            gateway=gateway_manager.app,  # type: ignore[arg-type]
            services={name: manager.app for name, manager in managers.items()},  # type: ignore[misc]
            bus=bus,
            households_sessionmaker=sessionmakers["households"],
            indicators_sessionmaker=sessionmakers["indicators"],
            gateway_sessionmaker=sessionmakers["gateway"],
            notifications_sessionmaker=sessionmakers["notifications"],
            outboxes=[
                (sessionmakers["households"], households.db.outbox),
                (sessionmakers["indicators"], indicators.db.outbox),
                (sessionmakers["gateway"], gateway.db.outbox),
            ],
            signing_key=signing_key,
            gateway_settings=gateway_settings,
            notifications_settings=notifications_settings,
        )
        try:
            yield platform
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Leaving the stack ends the apps' lifespans and the work they run (token reloads,
            # the gateway's relay) while their engines can still close what they opened.
            await stack.aclose()
            # Before the consumers stop, so that nothing they still hold is left out; what they
            # finish after this is delivered again next time (and skipped).
            await _return_undelivered(platform, bus.unsettled())
            await bus.close()
            for engine in engines.values():
                await engine.dispose()


async def _return_undelivered(platform: "Platform", message_ids: set[str]) -> None:
    """Hand the messages the in-process bus still held (queued, being handled, or waiting for a
    redelivery) back to their outboxes: the bus keeps nothing across a stop, so without this a
    Ctrl-C between publishing and handling would lose them. Each outbox marks only its own."""
    if not message_ids:
        return
    returned = 0
    for sessionmaker, outbox in platform.outboxes:
        returned += await _unpublished(sessionmaker, outbox, message_ids)
    log.info("platform.undelivered_returned", messages=returned)


async def _unpublished(
    sessionmaker: async_sessionmaker[AsyncSession], outbox: Table, message_ids: set[str]
) -> int:
    async with sessionmaker() as session, session.begin():
        return await unpublish(session, outbox, message_ids)


def server_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    # The gateway decides which proxies' X-Forwarded-For to believe (TRUSTED_PROXIES); uvicorn's
    # own proxy headers would believe any local client.
    return uvicorn.Config(
        app, host=host, port=port, log_level="info", lifespan="off", proxy_headers=False
    )


async def serve(data_dir: Path, host: str, port: int, demo_households: int) -> None:
    async with running_platform(data_dir) as platform:
        demo_users = await ensure_demo_users(platform.gateway_sessionmaker)
        demo: asyncio.Task[int] | None = None
        if demo_households:
            # In the background: the API answers at once and rates fill in as households load.
            # What an earlier start left unfinished is completed (the loader resumes).
            rules = Rules(
                min_agreement_percent=households.config.Settings().REVIEW_MIN_AGREEMENT_PERCENT
            )
            demo = asyncio.create_task(_load_demo(platform, demo_households, rules))
        config = server_config(platform.gateway, host, port)
        print(  # noqa: T201 - the one thing a newcomer needs to read
            f"\nPlatform ready: http://{host}:{port}/docs  (API under /api/v1, "
            f"health at /health; data in {data_dir}/)\n"
            f"{login_help(demo_users, f'http://{host}:{port}')}",
            flush=True,
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            if demo is not None:
                await stopped(demo)


async def _load_demo(platform: Platform, households: int, rules: Rules) -> int:
    """The demo, its targets and context series set through the platform's API as the loader."""
    async with platform.client(Role.ADMIN, subject=LOADER.subject) as indicators:
        return await load_demo(
            platform.households_sessionmaker,
            households=households,
            rules=rules,
            indicators=indicators,
        )


async def stopped(task: asyncio.Task[T]) -> None:
    """Cancel `task` and wait until it has finished, even when this task is cancelled meanwhile.

    uvicorn raises again the Ctrl-C it caught once it has shut down, which cancels the caller
    too; leaving then would close the databases under the task's transaction while it still
    rolls back, and the process would hang on its connection instead of exiting."""
    task.cancel()
    interrupted = False
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        raise asyncio.CancelledError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--demo-households",
        type=int,
        default=3000,
        help="synthetic households of the demo, loaded on first start and completed by the next "
        "if a start was stopped before (0: none)",
    )
    arguments = parser.parse_args()
    configure_logging(households.config.Settings(LOG_JSON=False))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: everything closed, nothing to show
        asyncio.run(
            serve(arguments.data_dir, arguments.host, arguments.port, arguments.demo_households)
        )


if __name__ == "__main__":
    main()
