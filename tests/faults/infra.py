"""Throwaway servers for the fault matrix, on ports of their own, and a TCP proxy the run controls.

Never the machine's shared PostgreSQL or RabbitMQ: a PostgreSQL cluster made by `initdb` in a
temporary folder (its own port and socket folder), and a `rabbitmq-server` node with its own node
name, AMQP, distribution and epmd ports, data and log folders. Both may be killed, paused and
restarted at will.
"""

import asyncio
import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import aio_pika
import asyncpg


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        found_on_path = shutil.which(name)
        if found_on_path is None:
            raise FileNotFoundError(f"{name} (PostgreSQL server binaries) is not installed")
        return found_on_path
    return found[-1]


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class ThrowawayPostgres:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.data = folder / "data"
        self.sockets = folder / "sockets"
        self.log = folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        # The server's user must reach its folder through the ones above (a 0700 temp folder).
        for parent in self.folder.parents:
            if parent == Path(tempfile.gettempdir()):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def _ctl(self, *arguments: str) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c fsync=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-o",
                    options,
                    "-w",
                    *arguments,
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """A restart under load: `fast` disconnects every session, as a failover would."""
        self._ctl("restart", "-m", mode)

    async def wait_ready(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                connection = await asyncpg.connect(self.url, timeout=2)
                await connection.close()
                return
            except (OSError, asyncpg.PostgresError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class ThrowawayRabbitMQ:
    RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
    RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"

    def __init__(self, folder: Path, port: int, name: str = "faults") -> None:
        self.folder = folder
        self.port = port
        self.node = f"{name}{port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def environment(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),  # the Erlang cookie of this node
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 1),
            "ERL_EPMD_PORT": str(self.port + 2),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",  # not the machine's node's settings
        }

    def init(self) -> None:
        (self.folder / "mnesia").mkdir(parents=True, exist_ok=True)
        (self.folder / "log").mkdir(exist_ok=True)
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            # Short heartbeats: a paused broker is noticed within seconds.
            "heartbeat = 5\n"
        )
        (self.folder / "enabled_plugins").write_text("[].\n")

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [self.RABBITMQ_SERVER],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    async def wait_ready(self, within: float = 90) -> None:
        """Until the node accepts an AMQP login."""
        deadline = time.monotonic() + within
        while True:
            try:
                connection = await aio_pika.connect(self.url, timeout=3)
                await connection.close()
                return
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    def beam_pid(self) -> int | None:
        pid_file = self.folder / "pid"
        if pid_file.exists():
            text = pid_file.read_text().strip()
            if text.isdigit():
                return int(text)
        return None

    def kill(self) -> None:
        """SIGKILL the Erlang VM (the node's whole process group)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
        pid = self.beam_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def pause(self) -> None:
        pid = self.beam_pid()
        assert pid is not None, "the node is not running"
        os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        pid = self.beam_pid()
        assert pid is not None, "the node is not running"
        os.kill(pid, signal.SIGCONT)

    def destroy(self) -> None:
        self.kill()
        # This node's own epmd, started on its own port (the machine's is on another). It
        # refuses to stop until it has noticed that the killed node is gone.
        for _ in range(20):
            done = subprocess.run(
                ["epmd", "-port", str(self.port + 2), "-kill"], check=False, capture_output=True
            )
            if b"not allowed" not in done.stdout:
                break
            time.sleep(0.5)
        shutil.rmtree(self.folder, ignore_errors=True)
