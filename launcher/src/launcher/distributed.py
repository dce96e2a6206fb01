"""`python -m launcher.distributed`: every process of docker-compose.yml, natively.

Against PostgreSQL and RabbitMQ on this machine: one database per service (and the gateway's),
migrations first, then each API, relay and worker as its own process, exactly as the compose file
starts them (host names and ports mapped onto localhost, files of volumes into a state folder).
The end-to-end tests use the same class, `DistributedStack`.

The first admin is `FIRST_ADMIN_USERNAME` (default `admin`) with `FIRST_ADMIN_PASSWORD` from the
environment; without one, a password is generated once and kept in the state folder.
"""

import argparse
import asyncio
import os
import re
import secrets
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

ADMIN_PASSWORD_FILE = "first-admin-password"


@dataclass
class StackConfig:
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # The compose file's SMTP catcher (Mailpit, SMTP on 1025, inbox on 8025) where it runs here,
    # e.g. `mailpit` started natively; e-mails wait and are retried while none answers.
    smtp_host: str = "127.0.0.1"
    database_prefix: str = ""  # tests give each run its own databases
    gateway_port: int = 8000
    first_service_port: int = 8001
    # Operations listeners (METRICS_PORT: relays, workers, the importer, the gateway's metrics):
    # one port each from here; by default 100 above the first service port.
    first_metrics_port: int | None = None
    log_dir: Path = Path("data/logs")
    # What the containers keep on volumes (the gateway's signing key), and the first admin's
    # generated password.
    state_dir: Path = Path("data/distributed")
    admin_password: str | None = None  # else FIRST_ADMIN_PASSWORD, else generated
    extra_environment: dict[str, str] = field(default_factory=dict)


class DistributedStack:
    """Starts and stops the compose file's processes on this machine."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes = compose.load(variables=_placeholders())
        self.ports = self._assign_ports()
        self.metrics_ports = self._assign_metrics_ports()
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self._admin_password: str | None = None

    @property
    def databases(self) -> list[str]:
        """The databases the compose file's processes use (each service's, the gateway's)."""
        names = {
            urlsplit(process.environment["DATABASE_URL"]).path.lstrip("/")
            for process in self.processes.values()
            if "DATABASE_URL" in process.environment
        }
        return sorted(names)

    @property
    def admin_username(self) -> str:
        for process in self.processes.values():
            if "FIRST_ADMIN_USERNAME" in process.environment:
                return process.environment["FIRST_ADMIN_USERNAME"]
        raise LookupError("no process of the compose file creates the first admin")

    @property
    def admin_password(self) -> str:
        """The first admin's password: configured, from the environment, or generated once."""
        if self._admin_password is None:
            self._admin_password = (
                self.config.admin_password
                or os.environ.get("FIRST_ADMIN_PASSWORD")
                or self._generated_password()
            )
        return self._admin_password

    def _generated_password(self) -> str:
        path = self.config.state_dir / ADMIN_PASSWORD_FILE
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(password + "\n")
        return password

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    def url_of(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def metrics_url_of(self, name: str) -> str:
        """Where `name` serves /metrics: its operations listener, else its own HTTP port."""
        port = self.metrics_ports.get(name, self.ports.get(name))
        if port is None:
            raise LookupError(f"{name} serves no metrics")
        return f"http://127.0.0.1:{port}"

    def database_url(self, service: str) -> str:
        admin = urlsplit(self.config.postgres_url)
        name = f"{self.config.database_prefix}{service}"
        return admin._replace(scheme="postgresql+asyncpg", path=f"/{name}").geturl()

    async def create_databases(self) -> None:
        connection = await asyncpg.connect(self.config.postgres_url)
        try:
            for service in self.databases:
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
            for service in self.databases:
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

    def _assign_metrics_ports(self) -> dict[str, int]:
        first = self.config.first_metrics_port or self.config.first_service_port + 100
        named = [n for n, p in self.processes.items() if "METRICS_PORT" in p.environment]
        return {name: first + number for number, name in enumerate(named)}

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
            elif key == "SMTP_HOST":
                environment[key] = self.config.smtp_host
            elif key == "PUBLIC_BASE_URL":
                environment[key] = self.gateway_url  # where links in e-mails lead
            elif key == "METRICS_PORT":
                # Every container has its own 9100; natively each process needs a port of its own.
                environment[key] = str(self.metrics_ports[process.name])
            elif key == "METRICS_HOST":
                environment[key] = "127.0.0.1"
            elif key.endswith("_URL") and value.startswith("http://"):
                # Another container by name: the same path on that process's local port.
                parts = urlsplit(value)
                local = urlsplit(self.url_of(parts.hostname or ""))
                environment[key] = parts._replace(netloc=local.netloc).geturl()
            elif key.endswith(("_FILE", "_DIR")) and value.startswith("/"):
                # A file or folder on a volume: the same name in the state folder.
                environment[key] = str(self.config.state_dir.resolve() / Path(value).name)
            elif key == "FIRST_ADMIN_PASSWORD":
                environment[key] = self.admin_password
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
        password = (
            "$FIRST_ADMIN_PASSWORD"
            if "FIRST_ADMIN_PASSWORD" in os.environ
            else f"the one in {config.state_dir / ADMIN_PASSWORD_FILE}"
        )
        ready = (
            f"\nDistributed stack up: {stack.gateway_url}/docs  (logs in {config.log_dir}/)\n"
            f"Log in as {stack.admin_username} with {password}.\n"
        )
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
    parser.add_argument(
        "--smtp-host",
        default=StackConfig.smtp_host,
        help="where the SMTP catcher of the compose file (Mailpit, port 1025) runs",
    )
    arguments = parser.parse_args()
    asyncio.run(
        _main(
            StackConfig(
                postgres_url=arguments.postgres_url,
                rabbitmq_url=arguments.rabbitmq_url,
                smtp_host=arguments.smtp_host,
                gateway_port=arguments.port,
                first_service_port=arguments.port + 1,
            )
        )
    )


if __name__ == "__main__":
    main()
