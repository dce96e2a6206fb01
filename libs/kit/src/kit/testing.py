"""Helpers for tests: access tokens, the real PostgreSQL and RabbitMQ, and a TCP proxy to cut.

`TEST_SIGNING_KEY` signs the tokens tests present (`bearer`); apps under test verify them with
`trusted_test_keys()`.

Where no server answers, such tests are skipped with a message saying what is missing; when the
`CI` variable is set they fail instead, so a CI run can never pass by skipping them.
Addresses come from `TEST_POSTGRES_URL` (default: postgres on localhost, trust auth) and
`TEST_RABBITMQ_URL` (default: guest/guest on localhost).
"""

import asyncio
import os
import socket
import subprocess
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import asyncpg
import pytest

from kit.auth import Role, SigningKey, StaticKeys
from kit.settings import AppSettings

TEST_SIGNING_KEY = SigningKey.generate()


def trusted_test_keys() -> StaticKeys:
    return StaticKeys(TEST_SIGNING_KEY.jwks())


def bearer(
    role: Role = Role.ADMIN,
    units: tuple[str, ...] | None = None,
    *,
    subject: str | None = None,
    lifetime: timedelta = timedelta(hours=6),
) -> dict[str, str]:
    """An Authorization header for a caller with `role` over `units` (None: the whole country).

    Valid for hours, not the platform's 15 minutes: a header made when a test module is collected
    is used when the module runs, which in the whole suite is half an hour later."""
    defaults = AppSettings.model_fields
    token = TEST_SIGNING_KEY.issue(
        issuer=defaults["AUTH_ISSUER"].default,
        audience=defaults["AUTH_AUDIENCE"].default,
        subject=subject or f"test-{role.value}",
        role=role,
        unit_scope=units,
        lifetime=lifetime,
    )
    return {"Authorization": f"Bearer {token}"}


POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2
        ):
            return True
    except OSError:
        return False


def require_infra() -> None:
    """Skip (or, under CI, fail) unless PostgreSQL and RabbitMQ both answer."""
    missing = [
        name
        for name, url, port in (
            ("PostgreSQL", POSTGRES_URL, 5432),
            ("RabbitMQ", RABBITMQ_URL, 5672),
        )
        if not _reachable(url, port)
    ]
    if not missing:
        return
    message = f"{' and '.join(missing)} not reachable ({POSTGRES_URL}, {RABBITMQ_URL})"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {message}: start them (see .ci/run)")
    pytest.skip(message)


async def create_database(prefix: str) -> str:
    """A new, empty PostgreSQL database; returns its SQLAlchemy (asyncpg) URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = urlsplit(POSTGRES_URL)._replace(path=f"/{name}").geturl()
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def create_vhost() -> str:
    """A RabbitMQ virtual host of its own, so no other run's messages reach this test's queues.

    Returns the AMQP URL for it. Needs `rabbitmqctl` (on the machine that runs the broker).
    """
    name = f"test-{uuid.uuid4().hex[:10]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    return urlsplit(RABBITMQ_URL)._replace(path=f"/{name}").geturl()


def delete_vhost(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, capture_output=True)


def free_port() -> int:
    """A TCP port nothing listens on now (for a listener a test starts)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
        return port


class TcpProxy:
    """Forwards a local port to a server; `cut()` drops every connection and refuses new ones
    until `restore()`, as a network partition between the platform and the server would."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self.cut_now = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_now:
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._connections.update((writer, upstream_writer))
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except asyncio.CancelledError:
            pass  # the proxy is closing
        finally:
            self._connections.difference_update((writer, upstream_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def cut(self) -> None:
        self.cut_now = True
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    def restore(self) -> None:
        self.cut_now = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
