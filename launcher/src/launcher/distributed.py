"""`python -m launcher.distributed`: every process of docker-compose.yml, natively.

Against PostgreSQL and RabbitMQ on this machine: one database per service, migrations first, then
each API, relay and worker as its own process, exactly as the compose file starts them (host names
and ports mapped onto localhost). The end-to-end tests use the same class, `DistributedStack`.
"""

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from launcher import compose

SERVICE_DATABASES = ("households", "indicators", "notifications")


@dataclass
class StackConfig:
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_prefix: str = ""  # tests give each run its own databases
    gateway_port: int = 8000
    first_service_port: int = 8001
    log_dir: Path = Path("data/logs")
    extra_environment: dict[str, str] = field(default_factory=dict)


class DistributedStack:
    """Starts and stops the compose file's processes on this machine."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes = compose.load(variables=_placeholders())
        self.ports = self._assign_ports()
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def url_of(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def database_url(self, service: str) -> str:
        admin = urlsplit(self.config.postgres_url)
        name = f"{self.config.database_prefix}{service}"
        return admin._replace(scheme="postgresql+asyncpg", path=f"/{name}").geturl()

    async def create_databases(self) -> None:
        connection = await asyncpg.connect(self.config.postgres_url)
        try:
            for service in SERVICE_DATABASES:
                name = f"{self.config.database_prefix}{service}"
                exists = await connection.fetchval(
                    "SELECT 1 FROM pg_database WHERE datname = $1", name
                )
                if not exists:
                    await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop_databases(self) -> None:
        connection = await asyncpg.connect(self.config.postgres_url)
        try:
            for service in SERVICE_DATABASES:
                name = f"{self.config.database_prefix}{service}"
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    def migrate(self) -> None:
        """Run the one-shot services (migrations), each to completion."""
        for name, process in self.processes.items():
            if not process.one_shot:
                continue
            done = subprocess.run(
                self._argv(process),
                env=self._environment(process),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode:
                raise RuntimeError(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def start(self, names: list[str] | None = None) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        for name, process in self.processes.items():
            if process.one_shot or (names is not None and name not in names):
                continue
            # The child keeps its own copy of the file descriptor; ours can close at once.
            with (self.config.log_dir / f"{name}.log").open("ab") as log:
                self.running[name] = subprocess.Popen(
                    self._argv(process),
                    env=self._environment(process),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def stop(self, names: list[str] | None = None) -> None:
        chosen = [n for n in self.running if names is None or n in names]
        for name in chosen:
            self.running[name].send_signal(signal.SIGTERM)
        for name in chosen:
            try:
                self.running[name].wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.running[name].kill()
                self.running[name].wait()
            del self.running[name]

    async def wait_healthy(self, within: float = 60.0) -> None:
        """Until the gateway reports every service (database and broker) ready."""
        deadline = time.monotonic() + within
        last = "no answer"
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    response = await client.get(f"{self.gateway_url}/health")
                    if response.status_code == 200:
                        return
                    last = response.text
                except httpx.HTTPError as error:
                    last = repr(error)
                await asyncio.sleep(0.3)
        raise TimeoutError(f"the stack did not become healthy in {within} s: {last}")

    def _check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                log = self.config.log_dir / f"{name}.log"
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")

    def _assign_ports(self) -> dict[str, int]:
        ports, next_port = {}, self.config.first_service_port
        for name, process in self.processes.items():
            if "uvicorn" not in process.command[0]:
                continue
            if name == "gateway":
                ports[name] = self.config.gateway_port
            else:
                ports[name], next_port = next_port, next_port + 1
        return ports

    def _argv(self, process: compose.ComposeProcess) -> list[str]:
        argv = list(process.command)
        if argv[0] == "uvicorn":
            argv = [sys.executable, "-m", "uvicorn", *argv[1:]]
            argv = _option(argv, "--host", "127.0.0.1")
            argv = _option(argv, "--port", str(self.ports[process.name]))
        elif argv[0] in ("python", "python3"):
            argv = [sys.executable, *argv[1:]]
        return argv

    def _environment(self, process: compose.ComposeProcess) -> dict[str, str]:
        environment = dict(os.environ) | process.environment
        for key, value in process.environment.items():
            if key == "DATABASE_URL":
                service = urlsplit(value).path.lstrip("/")
                environment[key] = self.database_url(service)
            elif key == "RABBITMQ_URL":
                environment[key] = self.config.rabbitmq_url
            elif key.endswith("_URL") and value.startswith("http://"):
                host = urlsplit(value).hostname or ""
                environment[key] = self.url_of(host)
        return environment | self.config.extra_environment


def _option(argv: list[str], option: str, value: str) -> list[str]:
    if option in argv:
        argv[argv.index(option) + 1] = value
        return argv
    return [*argv, option, value]


def _placeholders() -> dict[str, str]:
    # Secrets the compose file requires; natively the URLs are rewritten, so any value serves.
    text = compose.COMPOSE_FILE.read_text(encoding="utf-8")
    names = set(re.findall(r"\$\{(\w+):?\?", text))
    return {name: "native" for name in names} | dict(os.environ)


async def _main(config: StackConfig) -> None:
    stack = DistributedStack(config)
    await stack.create_databases()
    stack.migrate()
    stack.start()
    try:
        await stack.wait_healthy()
        ready = f"\nDistributed stack up: {stack.gateway_url}/docs  (logs in {config.log_dir}/)\n"
        print(ready, flush=True)  # noqa: T201 - what the operator started it for
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        while not stopped.is_set():
            stack._check_alive()
            await asyncio.sleep(1)
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("POSTGRES_ADMIN_URL", StackConfig.postgres_url)
    )
    parser.add_argument(
        "--rabbitmq-url", default=os.environ.get("RABBITMQ_URL", StackConfig.rabbitmq_url)
    )
    parser.add_argument("--port", type=int, default=8000, help="the gateway's port")
    arguments = parser.parse_args()
    asyncio.run(
        _main(
            StackConfig(
                postgres_url=arguments.postgres_url,
                rabbitmq_url=arguments.rabbitmq_url,
                gateway_port=arguments.port,
                first_service_port=arguments.port + 1,
            )
        )
    )


if __name__ == "__main__":
    main()
