"""Optional py-spy profiles of the processes under load (`--profile`): where the time goes.

Each profile is py-spy's raw folded stacks (one `frame;frame;… count` line per stack) kept under
the run's folder; `top()` sums them into the functions that took the most time on CPU.
"""

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Frames of the project's own code, as py-spy names them ("function (path/to/file.py:line)").
PROJECT = ("households/", "indicators/", "notifications/", "gateway/", "kit/")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def profiled(directory: Path | None, name: str, pids: dict[str, int]) -> Iterator[None]:
    """Sample each of `pids` (by process name) while the block runs, if `directory` is set."""
    executable = py_spy()
    if directory is None or executable is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    samplers = [
        subprocess.Popen(
            [
                executable,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "100",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(directory / f"{name}-{process}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for process, pid in pids.items()
    ]
    try:
        yield
    finally:
        for sampler in samplers:
            sampler.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        for sampler in samplers:
            try:
                sampler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sampler.kill()


def top(path: Path, *, limit: int = 12) -> list[tuple[str, float]]:
    """The functions with the most samples (inclusive, share of all samples), the project's own
    code and the libraries it calls, without the event loop and server frames above them."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        functions = {frame.split(" (")[0] + _module(frame) for frame in stack.split(";")}
        for function in functions:
            inclusive[function] += samples
    if not total:
        return []
    interesting = [
        (function, samples / total)
        for function, samples in inclusive.most_common()
        if any(part in function for part in PROJECT)
        and not function.startswith("<module>")
        and samples / total < 0.95
    ]
    return interesting[:limit]


# Innermost frames of a thread waiting rather than working (py-spy's --nonblocking samples them).
IDLE = ("EpollSelector.select", "Condition.wait")


def by_library(path: Path, *, limit: int = 8) -> list[tuple[str, float]]:
    """Where the busy samples were (the innermost frame, idle waits left out), by top-level module
    or package: `asyncio` (socket reads and writes, the loop), `sqlalchemy`, `httpx`, …"""
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        innermost = stack.split(";")[-1]
        if innermost.startswith(IDLE):
            continue
        total += int(count)
        file = _module(innermost).strip(" []")
        own[file.split("/")[0].removesuffix(".py") or "?"] += int(count)
    return [(name, samples / total) for name, samples in own.most_common(limit)] if total else []


def _module(frame: str) -> str:
    _, _, where = frame.partition(" (")
    file = where.split(":")[0]
    return f" [{file}]" if file else ""


def summarise(directory: Path) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """Every profile of the run: its busiest project functions and libraries."""
    return {
        path.stem: {"functions": top(path), "libraries": by_library(path)}
        for path in sorted(directory.glob("*.txt"))
    }
