"""The machine a run measured: what every figure is reported with."""

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg


def _meminfo_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return float("nan")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _command_version(*argv: str) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else None


async def describe(postgres_url: str) -> dict[str, Any]:
    """Cores, memory, CPU, kernel, the software versions and the load before the run."""
    connection = await asyncpg.connect(postgres_url)
    try:
        postgres = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return {
        "cores": os.cpu_count(),
        "memory_gib": _meminfo_gib(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "postgresql": postgres,
        "rabbitmq": _command_version("rabbitmqctl", "-q", "version"),
        "nginx": _nginx_version(),
        "load_average_at_start": load_average(),
    }


def _nginx_version() -> str | None:
    # nginx prints its version on stderr.
    try:
        done = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return done.stderr.strip().removeprefix("nginx version: ") or None


def summary(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}, "
        f"PostgreSQL {machine['postgresql']}, RabbitMQ {machine['rabbitmq'] or '?'}"
    )
