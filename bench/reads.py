"""P2: reads through the gateway: one household (of those P1 wrote), and a unit's figures
(province, district and commune in turn, in P1's round). Each at the target's offered load, beside
the same reads one at a time. The load comes from wrk at a fixed rate (`bench.wrk`) where it is
installed, else from the in-process client (`bench.load`)."""

import itertools
import random
import time

import httpx

from bench import wrk
from bench.context import Context
from bench.load import Operation, Recorder, Run, open_loop
from bench.profile import profiled
from bench.report import Figure
from bench.writes import load_note

TARGET_RATE, TARGET_P95 = 500.0, 30.0


def household_reader(client: httpx.AsyncClient, ids: list[str], seed: int) -> Operation:
    chosen = random.Random(seed)

    async def read(i: int, due: float, recorder: Recorder) -> None:
        path = f"/api/v1/households/{chosen.choice(ids)}"
        await recorder.request("household", due, client.get(path))

    return read


def figures_reader(client: httpx.AsyncClient, round_id: str, units: list[str]) -> Operation:
    cycle = itertools.cycle(units)

    async def read(i: int, due: float, recorder: Recorder) -> None:
        path = f"/api/v1/figures/{round_id}/{next(cycle)}"
        await recorder.request("figures", due, client.get(path))

    return read


async def one_at_a_time(read: Operation, count: int) -> Run:
    recorder = Recorder()
    started = time.perf_counter()
    for i in range(count):
        await read(i, time.perf_counter(), recorder)
    return Run(None, time.perf_counter() - started, recorder, 0.0)


async def run(context: Context) -> list[Figure]:
    sizes, platform = context.sizes, context.platform
    if not context.households:
        raise RuntimeError("P2 reads the households P1 wrote, and P1 wrote none")
    unit = context.units[0]
    units = [unit.province, unit.district, unit.commune]
    pids = {name: platform.pid_of(name) for name in ("gateway", "households-api", "indicators-api")}
    result = []
    async with platform.client() as client:
        readers = {
            "one household": household_reader(client, context.households, sizes.seed),
            "a unit's figures": figures_reader(client, context.load_round.id, units),
        }
        chosen = random.Random(sizes.seed)
        count = round(sizes.read_rate * sizes.seconds) + 100
        paths = {
            "one household": [
                f"/api/v1/households/{chosen.choice(context.households)}" for _ in range(count)
            ],
            "a unit's figures": [
                f"/api/v1/figures/{context.load_round.id}/{unit}" for unit in units
            ],
        }
        for label, read in readers.items():
            quiet = await one_at_a_time(read, sizes.unloaded)
            with profiled(context.profile_dir, f"P2-{label.split()[-1]}", pids):
                loaded: Run | wrk.WrkRun
                if wrk.available():
                    listed = platform.stack.config.log_dir.parent / f"P2-{label.split()[-1]}.txt"
                    listed.write_text("\n".join(paths[label]) + "\n", encoding="utf-8")
                    loaded = await wrk.paced(
                        platform.gateway_url,
                        rate=sizes.read_rate,
                        seconds=sizes.seconds,
                        headers=platform.token.header,
                        paths=listed,
                    )
                else:
                    loaded = await open_loop(read, rate=sizes.read_rate, seconds=sizes.seconds)
            result += figures(label, loaded, quiet)
    return result


def figures(label: str, loaded: Run | wrk.WrkRun, quiet: Run) -> list[Figure]:
    offered = loaded.offered_per_second or TARGET_RATE
    achieved, n = loaded.achieved(), loaded.count()
    p95 = loaded.percentile(95)
    details = {
        "errors": loaded.errors(),
        "errors_by_kind": loaded.statuses,
        "shed": loaded.shed,
        "late": loaded.late,
        "load_by": loaded.by,
        "client_cpu_share": round(loaded.client_cpu_share(), 3),
        "p50_ms": loaded.percentile(50),
        "p99_ms": loaded.percentile(99),
    }
    return [
        Figure(
            "P2",
            f"read rate achieved, {label}, at {offered:.0f} reads/s offered",
            achieved,
            "reads/s",
            n,
            reference="offered",
            reference_value=offered,
            ratio=achieved / offered,
            target=f"{TARGET_RATE:.0f} reads/s, p95 ≤ {TARGET_P95:.0f} ms",
            met=achieved >= 0.95 * TARGET_RATE and p95 <= TARGET_P95,
            note=load_note(loaded),
            details=details,
        ),
        Figure(
            "P2",
            f"read latency p95, {label}, at {offered:.0f}/s offered",
            p95,
            "ms",
            n,
            reference="one read at a time",
            reference_value=quiet.percentile(95),
            ratio=p95 / quiet.percentile(95) if quiet.count() else None,
            target=f"≤ {TARGET_P95:.0f} ms",
            met=p95 <= TARGET_P95,
            details={
                "p50_ms": loaded.percentile(50),
                "p99_ms": loaded.percentile(99),
                "unloaded_p50_ms": quiet.percentile(50),
                "unloaded_n": quiet.count(),
            },
        ),
    ]
