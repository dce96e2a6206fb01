"""CPU time by process during a phase: each process's time since the phase began, put down to
the platform process it is or belongs to, or to the benchmark's own children."""

import asyncio
import os
import subprocess
import sys

from bench.cpu import BENCH, CpuWatch, machine_busy_seconds, read_process

# Burns its CPU, then lives on past the watcher's next reading (one a second), as the platform's
# processes do; a process that ends between two readings loses what it used since the last one.
BURN = (
    "import time\nend = time.process_time() + {seconds}\n"
    "while time.process_time() < end: pass\ntime.sleep(1.5)\n"
)
# A platform process with a child of its own (as the importer has its reader process).
WITH_CHILD = (
    "import subprocess, sys\n"
    "child = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
    "exec({own!r})\nchild.wait()\n"
)


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


async def test_platform_processes_their_children_and_the_benchmarks_are_each_counted() -> None:
    importer = _python(
        WITH_CHILD.format(child=BURN.format(seconds=0.4), own=BURN.format(seconds=0.4))
    )
    watch = CpuWatch(lambda: {importer.pid: "households-importer"})
    done = asyncio.Event()
    watching = asyncio.create_task(watch.measure(done))
    await asyncio.sleep(0.1)
    wrk = _python(BURN.format(seconds=0.4))  # started during the phase: counted from zero
    await asyncio.to_thread(importer.wait)
    await asyncio.to_thread(wrk.wait)
    done.set()
    phase = await watching

    assert 0.6 <= phase.by_part["households-importer"] <= 1.2  # itself and its child
    assert 0.3 <= phase.by_part[BENCH] <= 0.5 + phase.seconds  # the watcher's own time too
    assert phase.machine_busy >= phase.by_part["households-importer"]
    assert phase.seconds >= 1.5


def test_a_process_reading_is_its_own_cpu_time() -> None:
    reading = read_process(os.getpid())
    assert reading is not None
    assert reading.cpu_seconds > 0
    assert reading.parent == os.getppid()
    assert read_process(2**22 + 1) is None  # above the kernel's pid_max: no such process
    assert machine_busy_seconds() > 0
