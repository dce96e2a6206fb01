"""CPU time by process during a phase: each process's time since the phase began, put down to
the platform process it is or to the benchmark's own children."""

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


def _burner(seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)])


async def test_a_platform_process_and_a_child_of_the_benchmark_are_each_counted() -> None:
    platform_process = _burner(0.6)
    watch = CpuWatch(lambda: {platform_process.pid: "households-api"})
    done = asyncio.Event()
    watching = asyncio.create_task(watch.measure(done))
    await asyncio.sleep(0.1)
    child = _burner(0.4)  # started during the phase: counted from zero
    await asyncio.to_thread(platform_process.wait)
    await asyncio.to_thread(child.wait)
    done.set()
    phase = await watching

    assert 0.3 <= phase.by_part["households-api"] <= 0.7
    assert 0.2 <= phase.by_part[BENCH] <= 0.6 + phase.seconds  # the watcher's own time too
    assert phase.machine_busy >= phase.by_part["households-api"]
    assert phase.seconds >= 1.5


def test_a_process_reading_is_its_own_cpu_time() -> None:
    reading = read_process(os.getpid())
    assert reading is not None
    assert reading.cpu_seconds > 0
    assert read_process(2**22 + 1) is None  # above the kernel's pid_max: no such process
    assert machine_busy_seconds() > 0
