"""Peak memory of a run: each platform process's high-water mark, and the benchmark's own.

Linux keeps a process's peak resident set (`VmHWM` in `/proc/<pid>/status`) for its lifetime.
It is read at the end of every phase, while the processes still run (a process stopped and
started again, as P4 does with the relay and the worker, is a new process: the larger of its
lives is kept). The benchmark's own peak, and that of the largest of its child processes that
ended (the generator's workers, and platform processes stopped by P4 or at the end), come from
`getrusage`. PostgreSQL and RabbitMQ are servers of the
machine, shared with other work: their memory is not attributed to the run.
"""

import resource
from pathlib import Path

from bench.platform import Platform


def high_water_mib(pid: int) -> float | None:
    """The process's peak resident set in MiB, or None if it is gone or unreadable."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return None


class PeakMemory:
    """The largest high-water mark seen per process name."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}

    def sample(self, platform: Platform) -> None:
        for name, process in platform.stack.running.items():
            mib = high_water_mib(process.pid)
            if mib is not None:
                self.peaks[name] = max(self.peaks.get(name, 0.0), mib)

    def report(self) -> dict[str, float]:
        """MiB per platform process, then the benchmark itself and its largest ended child."""
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        peaks = dict(sorted(self.peaks.items(), key=lambda item: -item[1]))
        return {**peaks, "bench (client)": own, "bench's largest ended child": children}


def summary(peaks: dict[str, float]) -> str:
    """One line for the table: the processes' peaks, largest first, and their sum."""
    platform = {k: v for k, v in peaks.items() if not k.startswith("bench")}
    listed = ", ".join(f"{name} {mib:,.0f}" for name, mib in peaks.items())
    return (
        f"Peak memory (resident, MiB): {listed}; the platform's processes together at most "
        f"{sum(platform.values()):,.0f} (PostgreSQL and RabbitMQ not counted)."
    )
