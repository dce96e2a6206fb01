"""`python -m bench`: the benchmark suite on the distributed setup (docs/benchmarks.md).

Starts every process of docker-compose.yml natively against the local PostgreSQL and RabbitMQ (on
databases `bench_*` and a virtual host `bench` of its own, removed at the end), runs P1–P8, prints
the table and writes the figures to `--out` (JSON, and the table beside it as `.md`).

    python -m bench                      # the full run, about 10 minutes on 2 cores
    python -m bench --quick              # a small run (N = 200), about a minute
    python -m bench --docs docs/benchmarks.md   # also put the table into that page
    python -m bench --only P4,P5,P6      # some of the parts (P7 and P8 need P6)
    python -m bench --scale              # P4, P6–P8 at the targets' sizes (make bench-scale)
"""

import argparse
import asyncio
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from bench import (
    bulk,
    data,
    freshness,
    overhead,
    pipeline,
    reads,
    recalculation,
    reports,
    writes,
)
from bench.context import Context, Sizes
from bench.cpu import CpuWatch, PhaseCpu
from bench.machine import describe, load_average
from bench.memory import PeakMemory
from bench.memory import summary as memory_summary
from bench.platform import PlatformConfig, running_platform
from bench.profile import summarise
from bench.report import Figure, table, update_docs, write

DEFAULT_OUT = Path("bench/results/latest.json")
SCALE_OUT = Path("bench/results/scale.json")
# The sizes the size targets are set for (issue 10): what `--scale` runs by default.
SCALE_HOUSEHOLDS, SCALE_BACKLOG, SCALE_PARTS = 1_000_000, 100_000, "P4,P6,P7,P8"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs")
    parser.add_argument(
        "--scale",
        action="store_true",
        help=f"the size targets at their sizes: {SCALE_PARTS} with --backlog {SCALE_BACKLOG:,} "
        f"and --households {SCALE_HOUSEHOLDS:,} unless given (its own section of --docs)",
    )
    parser.add_argument(
        "--households", type=int, help="N for P6–P8 (default 5000; 200 with --quick)"
    )
    parser.add_argument(
        "--backlog", type=int, help="P4's backlog of events (default 5000; 200 with --quick)"
    )
    parser.add_argument(
        "--only", help="the parts to run, comma-separated (e.g. P4,P5,P6; P7 and P8 need P6)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        help="P1/P2's load duration (default 20 s); P1's steps and P3's runs take half of it",
    )
    parser.add_argument(
        "--out", type=Path, help=f"the JSON file to write ({DEFAULT_OUT}; {SCALE_OUT} with --scale)"
    )
    parser.add_argument("--docs", type=Path, help="a Markdown page whose bench section to replace")
    parser.add_argument(
        "--profile", action="store_true", help="record py-spy profiles of the busy processes"
    )
    parser.add_argument("--postgres-url", default=PlatformConfig.postgres_url)
    parser.add_argument("--rabbitmq-url", default=PlatformConfig.rabbitmq_url)
    parser.add_argument("--port", type=int, default=PlatformConfig.gateway_port)
    parser.add_argument("--work-dir", type=Path, default=PlatformConfig.work_dir)
    parser.add_argument(
        "--name",
        default=PlatformConfig.name,
        help="of the run's databases (NAME_households, …) and RabbitMQ virtual host",
    )
    parsed = parser.parse_args(argv)
    if parsed.scale and parsed.quick:
        parser.error("--scale and --quick do not go together")
    default = 200 if parsed.quick else 5_000
    parsed.households = parsed.households or (SCALE_HOUSEHOLDS if parsed.scale else default)
    parsed.backlog = parsed.backlog or (SCALE_BACKLOG if parsed.scale else default)
    parsed.out = parsed.out or (SCALE_OUT if parsed.scale else DEFAULT_OUT)
    if parsed.scale and not parsed.only:
        parsed.only = SCALE_PARTS
    if parsed.households < 1 or parsed.backlog < 1:
        parser.error("--households and --backlog must be 1 or more")
    if parsed.seconds is not None and parsed.seconds <= 0:
        parser.error("--seconds must be more than 0")
    parts = {f"P{n}" for n in range(1, 9)}
    parsed.parts = {p.strip().upper() for p in parsed.only.split(",")} if parsed.only else parts
    if not parsed.parts <= parts:
        parser.error(f"--only takes parts among {', '.join(sorted(parts))}")
    return parsed


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201 - progress of a long command


async def main(options: argparse.Namespace) -> int:
    sizes = (Sizes.quick if options.quick else Sizes.full)(options.households, options.backlog)
    if options.seconds:
        half = max(1.0, options.seconds / 2)
        sizes = replace(sizes, seconds=options.seconds, step_seconds=half, throughput_seconds=half)
    config = PlatformConfig(
        postgres_url=options.postgres_url,
        rabbitmq_url=options.rabbitmq_url,
        gateway_port=options.port,
        work_dir=options.work_dir,
        name=options.name,
    )
    machine = await describe(options.postgres_url)
    started = time.perf_counter()
    figures: list[Figure] = []
    failures: list[str] = []
    memory = PeakMemory()
    cpu: dict[str, PhaseCpu] = {}
    _say("Starting the distributed platform …")
    async with running_platform(config) as platform:
        _say(f"Platform up in {time.perf_counter() - started:.0f} s.")
        units = await data.communes(platform.database_url("households"))
        async with platform.client() as client:
            load_round = await data.open_round(client)
        context = Context(
            platform,
            sizes,
            units,
            load_round,
            profile_dir=options.work_dir / "profiles" if options.profile else None,
        )

        watch = CpuWatch(lambda: {p.pid: name for name, p in platform.stack.running.items()})

        async def phase(name: str, step: Callable[[], Awaitable[list[Figure]]]) -> None:
            if name.split()[0] not in options.parts:
                return
            _say(f"{name} …")
            begun = time.perf_counter()
            done = asyncio.Event()
            watching = asyncio.create_task(watch.measure(done))
            try:
                measured = await step()
            except Exception:
                failures.append(name)
                _say(f"{name} failed:\n{traceback.format_exc()}")
                return
            finally:
                done.set()
                cpu[name] = await watching
            figures.extend(measured)
            memory.sample(platform)
            _say(f"{name} done in {time.perf_counter() - begun:.0f} s.")

        imported: list[data.Round] = []

        async def p6() -> list[Figure]:
            measured, round_ = await bulk.run(context)
            imported.append(round_)
            return measured

        async def p7() -> list[Figure]:
            if not imported:
                raise RuntimeError("P7 recalculates P6's round, and P6 failed")
            return await recalculation.run(context, imported[0])

        await phase("P1 writes", lambda: writes.run(context))
        await phase("P2 reads", lambda: reads.run(context))
        await phase("P3 gateway overhead", lambda: overhead.run(context))
        await phase("P5 freshness", lambda: freshness.run(context))
        await phase("P4 event pipeline", lambda: pipeline.run(context))
        await phase("P6 bulk import", p6)

        async def p8() -> list[Figure]:
            if not imported:
                raise RuntimeError("P8 reports on P6's round, and P6 failed")
            return await reports.run(context, imported[0])

        await phase("P7 recalculation", p7)
        await phase("P8 reports and transitions", p8)
    machine["load_average_at_end"] = load_average()
    figures.sort(key=lambda figure: figure.p)
    peaks = memory.report()
    run: dict[str, object] = {
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "quick": options.quick,
        "households": sizes.households,
        "backlog": sizes.backlog,
        "parts": sorted(options.parts),
        "seconds": round(time.perf_counter() - started),
        "failed_phases": failures,
        "peak_memory_mib": peaks,
        "cpu_seconds": {
            name: {"seconds": round(c.seconds, 1), "machine_busy": round(c.machine_busy, 1)}
            | {part: round(seconds, 1) for part, seconds in c.by_part.items()}
            for name, c in cpu.items()
        },
    }
    if context.profile_dir is not None and context.profile_dir.exists():
        run["profiles"] = summarise(context.profile_dir)
    write(options.out, figures, machine, run)
    text = f"{table(figures, machine)}\n{memory_summary(peaks)}\n\n{cpu_summary(cpu)}"
    print(text)  # noqa: T201 - the command's output
    if options.docs:
        section = "bench-scale" if options.scale else "bench"
        update_docs(options.docs, _docs_section(text, run, options.out), section=section)
    _say(f"Figures written to {options.out} ({run['seconds']} s in all).")
    return 1 if failures else 0


def cpu_summary(cpu: dict[str, PhaseCpu]) -> str:
    """The CPU seconds of each phase by part, most first (bench/cpu.py says how they are read)."""
    cores = os.cpu_count() or 1
    lines = [f"- {phase.line(name, cores)}" for name, phase in cpu.items()]
    heading = (
        "CPU time by phase (CPU seconds of each process or server while the phase ran; "
        "`bench/cpu.py`):"
    )
    return "\n".join([heading, "", *lines, ""]) if lines else ""


def _docs_section(text: str, run: dict[str, object], out: Path) -> str:
    return f"Command: `{run['command']}` ({run['seconds']} s in all; figures in `{out}`).\n\n{text}"


if __name__ == "__main__":
    sys.exit(asyncio.run(main(arguments(None))))
