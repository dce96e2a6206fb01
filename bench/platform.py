"""The platform under test: the distributed processes of docker-compose.yml, run natively.

`running_platform()` starts them as `make services` and the end-to-end tests do
(`launcher.distributed.DistributedStack`), on databases and a RabbitMQ virtual host of the
benchmark's own (dropped at the end), logs in as the first admin and hands out clients.

Two settings differ from a deployment's defaults, both so that the figures measure capacity
rather than a protection: the gateway's per-caller rate limit (20/s, burst 200) is lifted, since
the whole load comes from one caller; everything else (log level, relay poll interval, pool
sizes) is as docker-compose.yml and the code's defaults leave it.
"""

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import httpx

from kit.messaging.topology import ALL_QUEUES
from launcher.distributed import DistributedStack, StackConfig

ADMIN_PASSWORD = "bench-first-admin"
TOKEN_REFRESH_SECONDS = 10 * 60  # access tokens live 15 minutes at most
BENCH_ENVIRONMENT = {
    "RATE_LIMIT_PER_SECOND": "1000000",
    "RATE_LIMIT_BURST": "1000000",
}


@dataclass
class PlatformConfig:
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    gateway_port: int = 18100
    work_dir: Path = Path("data/bench")
    name: str = "bench"  # of its databases (`<name>_households`, …) and virtual host


class Token(httpx.Auth):
    """The first admin's bearer token, fetched again before it expires (one login per ~10 min:
    the gateway throttles logins)."""

    def __init__(self, gateway_url: str, username: str, password: str) -> None:
        self._url = f"{gateway_url}/api/v1/auth/token"
        self._form = {"grant_type": "password", "username": username, "password": password}
        self._token = ""
        self._fetched = float("-inf")  # never fetched: the monotonic clock may start near 0
        self._lock = asyncio.Lock()

    async def fresh(self) -> str:
        async with self._lock:
            if time.monotonic() - self._fetched > TOKEN_REFRESH_SECONDS:
                async with httpx.AsyncClient(timeout=30) as client:
                    response = await client.post(self._url, data=self._form)
                response.raise_for_status()
                self._token = response.json()["access_token"]
                self._fetched = time.monotonic()
        return self._token

    @property
    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # Checked on every request: a phase can outlive a token (P6 at 1,000,000 households
        # polls its import for half an hour).
        request.headers["Authorization"] = f"Bearer {await self.fresh()}"
        yield request


class Platform:
    """A running stack and what the benchmark needs of it."""

    def __init__(self, stack: DistributedStack, token: Token) -> None:
        self.stack = stack
        self.token = token

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    def url_of(self, process: str) -> str:
        return self.stack.url_of(process)

    def database_url(self, service: str) -> str:
        """A plain asyncpg URL of a service's database."""
        return self.stack.database_url(service).replace("postgresql+asyncpg://", "postgresql://")

    def pid_of(self, process: str) -> int:
        return self.stack.running[process].pid

    @asynccontextmanager
    async def client(
        self, base_url: str | None = None, *, connections: int = 256
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the gateway (or of `base_url`) as the first admin."""
        await self.token.fresh()
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(
            base_url=base_url or self.gateway_url,
            auth=self.token,
            timeout=httpx.Timeout(60.0, connect=10.0, pool=None),
            limits=limits,
            trust_env=False,
        ) as client:
            yield client

    async def database(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url(service))

    def stop(self, *processes: str) -> None:
        self.stack.stop(list(processes))

    def start(self, *processes: str) -> None:
        self.stack.start(list(processes))

    async def idle(self, *, within: float = 600.0) -> float:
        """Wait until nothing is left to publish or consume; the seconds it took.

        Idle: no unpublished outbox row, no ready message in any queue, and no message handled
        since the previous look (a message being handled is not "ready"), twice in a row.
        TimeoutError after `within` seconds.
        """
        started = time.perf_counter()
        previous: tuple[int, ...] = ()
        quiet = 0
        while quiet < 2:
            if time.perf_counter() - started > within:
                raise TimeoutError(f"the event pipeline did not go idle in {within} s")
            pending, handled = await self._pipeline_state()
            quiet = quiet + 1 if pending == 0 and handled == previous else 0
            previous = handled
            await asyncio.sleep(0.3)
        return time.perf_counter() - started

    async def _pipeline_state(self) -> tuple[int, tuple[int, ...]]:
        """Messages waiting anywhere, and messages each consumer has handled so far."""
        pending, handled = 0, []
        for service in ("households", "indicators", "notifications"):
            connection = await self.database(service)
            try:
                if service != "notifications":
                    pending += await connection.fetchval(
                        "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
                    )
                if service != "households":
                    handled.append(
                        await connection.fetchval("SELECT count(*) FROM processed_message")
                    )
            finally:
                await connection.close()
        pending += sum((await self.queue_depths()).values())
        return pending, tuple(handled)

    async def queue_depths(self) -> dict[str, int]:
        """Messages ready in each consumer queue (not those being handled)."""
        connection = await aio_pika.connect(self.stack.config.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            depths = {}
            for spec in ALL_QUEUES:
                queue = await channel.declare_queue(spec.name, passive=True)
                result: Any = queue.declaration_result
                depths[spec.name] = int(result.message_count)
            return depths


@asynccontextmanager
async def running_platform(config: PlatformConfig) -> AsyncIterator[Platform]:
    """Fresh databases and virtual host, every process started and healthy, admin logged in."""
    rabbitmq_url = _own_vhost(config.rabbitmq_url, config.name)
    stack = DistributedStack(
        StackConfig(
            postgres_url=config.postgres_url,
            rabbitmq_url=rabbitmq_url,
            database_prefix=f"{config.name}_",
            gateway_port=config.gateway_port,
            first_service_port=config.gateway_port + 1,
            log_dir=config.work_dir / "logs",
            state_dir=config.work_dir / "state",
            admin_password=ADMIN_PASSWORD,
            extra_environment=BENCH_ENVIRONMENT,
        )
    )
    shutil.rmtree(config.work_dir, ignore_errors=True)
    await stack.drop_databases()
    await stack.create_databases()
    try:
        await asyncio.to_thread(stack.migrate)
        stack.start()
        await stack.wait_healthy(within=180)
        token = Token(stack.gateway_url, stack.admin_username, stack.admin_password)
        await token.fresh()
        yield Platform(stack, token)
    finally:
        stack.stop()
        await stack.drop_databases()
        if rabbitmq_url != config.rabbitmq_url:
            _rabbitmqctl("delete_vhost", config.name)


def _own_vhost(url: str, name: str) -> str:
    """The URL of a fresh virtual host `name` (so no other run's queues mix in), made with
    rabbitmqctl; `url` itself where rabbitmqctl is missing."""
    if shutil.which("rabbitmqctl") is None:
        return url
    _rabbitmqctl("delete_vhost", name)
    _rabbitmqctl("add_vhost", name, check=True)
    user = urlsplit(url).username or "guest"
    _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*", check=True)
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def _rabbitmqctl(*arguments: str, check: bool = False) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=check, capture_output=True)
