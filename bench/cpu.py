"""Where the cores went, phase by phase: CPU time by process.

A figure that misses its target on a machine whose cores are full is explained by what used them,
which a profile's shares within one process do not say. During each phase every process of the
machine is read once a second (`/proc/<pid>/stat`: user and system time, in a thread, so that the
benchmark's own timings are not held up) and its CPU time since the phase began is put down to the
platform process it is or belongs to (by name), to PostgreSQL (its server and backends), to
RabbitMQ, to the benchmark (itself and its children: wrk, the generator's workers) or to the rest
of the machine; the machine's own busy time comes from `/proc/stat`.
A process that ends between two readings loses at most its last second (a PostgreSQL backend of
a closed connection, a platform process that P4 stops), so the parts are lower bounds and the
machine's total is exact.
"""

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 1.0
POSTGRESQL, RABBITMQ, BENCH, OTHER = "PostgreSQL", "RabbitMQ", "bench (client)", "other"


@dataclass(frozen=True)
class Reading:
    cpu_seconds: float  # user + system since the process started
    started: int  # in clock ticks since boot: a pid used again is another process
    parent: int
    command: str


def read_process(pid: int) -> Reading | None:
    """The process's CPU time so far, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # The command name in parentheses may hold spaces: the fields that follow it are counted
    # from its closing parenthesis (proc(5): state is field 3, utime 14, stime 15, starttime 22).
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime, started = int(fields[11]), int(fields[12]), int(fields[19])
    command = argv.split(b"\0", 1)[0].decode(errors="replace")
    return Reading((utime + stime) / TICKS, started, int(fields[1]), command)


def machine_busy_seconds() -> float:
    """CPU time the machine's cores spent on anything but idling, since boot, in seconds."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = values[3], values[4]
    return (sum(values[:8]) - idle - iowait) / TICKS  # guest time is already in user


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


@dataclass
class PhaseCpu:
    """CPU seconds by part during one phase."""

    seconds: float
    machine_busy: float
    by_part: dict[str, float]

    def line(self, name: str, cores: int) -> str:
        share = self.machine_busy / (self.seconds * cores) if self.seconds else 0.0
        parts = ", ".join(f"{part} {seconds:,.1f}" for part, seconds in self.by_part.items())
        return (
            f"{name} ({self.seconds:,.0f} s; the machine busy {self.machine_busy:,.0f} CPU s, "
            f"{share:.0%} of its cores): {parts}"
        )


@dataclass
class _Seen:
    part: str
    first: float
    last: float


@dataclass
class CpuWatch:
    """Reads every process once a second while a phase runs (`measure`, until told to stop)."""

    platform_pids: Callable[[], dict[int, str]]  # pid → platform process name, as now running
    own_pid: int = field(default_factory=os.getpid)

    def _parts(self, readings: dict[int, Reading]) -> dict[int, str]:
        """Each process's part: a platform process and its children (the importer's reader
        process) by the platform process's name, the benchmark and its other descendants (wrk,
        the generator's workers) as the benchmark, then the servers by their command."""
        owners: dict[int, str | None] = {**self.platform_pids(), self.own_pid: BENCH}

        def owner(pid: int) -> str | None:
            chain: list[int] = []
            while pid not in owners and pid in readings and len(chain) < 64:
                chain.append(pid)
                pid = readings[pid].parent
            found = owners.get(pid)
            for link in chain:
                owners[link] = found  # None: nobody's
            return found

        parts: dict[int, str] = {}
        for pid, reading in readings.items():
            part = owner(pid)
            if part is None:
                if reading.command.startswith("postgres"):
                    part = POSTGRESQL
                elif "beam" in reading.command or "rabbitmq" in reading.command:
                    part = RABBITMQ
                else:
                    part = OTHER
            parts[pid] = part
        return parts

    def _sample(self, seen: dict[tuple[int, int], _Seen], phase_began: int | None) -> None:
        readings = {pid: r for pid in _all_pids() if (r := read_process(pid)) is not None}
        parts = self._parts(readings)
        for pid, reading in readings.items():
            key = (pid, reading.started)
            known = seen.get(key)
            if known is not None:
                known.last = reading.cpu_seconds
                continue
            born_during = phase_began is not None and reading.started > phase_began
            first = 0.0 if born_during else reading.cpu_seconds
            seen[key] = _Seen(parts[pid], first, reading.cpu_seconds)

    async def measure(self, stop: asyncio.Event) -> PhaseCpu:
        """Until `stop` is set: the CPU time of each part."""
        loop = asyncio.get_running_loop()
        began, busy = loop.time(), machine_busy_seconds()
        seen: dict[tuple[int, int], _Seen] = {}
        ticks_at_start = _ticks_since_boot()
        await asyncio.to_thread(self._sample, seen, None)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=SAMPLE_SECONDS)
            except TimeoutError:
                pass
            await asyncio.to_thread(self._sample, seen, ticks_at_start)
        by_part: dict[str, float] = {}
        for entry in seen.values():
            by_part[entry.part] = by_part.get(entry.part, 0.0) + entry.last - entry.first
        listed = {k: v for k, v in sorted(by_part.items(), key=lambda kv: -kv[1]) if v >= 0.05}
        return PhaseCpu(loop.time() - began, machine_busy_seconds() - busy, listed)


def _ticks_since_boot() -> int:
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return int(uptime * TICKS)
