"""P1: writes through the gateway (register a household, then PUT its assessment).

A write is one request; a household is two writes, the PUT sent as soon as the registration
answers. Latencies of both kinds are pooled. Reported: the rate achieved and p50/p95/p99 at the
target's offered load, the same percentiles with one write at a time (the unloaded reference),
and the saturation point: the highest offered rate of the steps that was sustained (achieved
≥ 90% of offered, no errors).
"""

import json
import time
from collections.abc import Iterator

import httpx

from bench import data, wrk
from bench.context import Context
from bench.load import Operation, Recorder, Run, open_loop
from bench.profile import profiled
from bench.report import Figure
from synthetic.generator import SyntheticHousehold

TARGET_RATE, TARGET_P95 = 200.0, 50.0


def writer(
    client: httpx.AsyncClient,
    round_: data.Round,
    items: Iterator[SyntheticHousehold],
    created: list[str],
) -> Operation:
    async def write(i: int, due: float, recorder: Recorder) -> None:
        item = next(items)
        response = await recorder.request(
            "register", due, client.post("/api/v1/households", json=data.registration(item))
        )
        if response is None:
            return
        household_id = response.json()["id"]
        created.append(household_id)
        path = f"/api/v1/households/{household_id}/assessments/{round_.id}"
        sent = time.perf_counter()
        await recorder.request("survey", sent, client.put(path, json=data.survey(item)))

    return write


def _items(context: Context, prefix: str, count: int) -> Iterator[SyntheticHousehold]:
    return data.households(
        context.units,
        count,
        reference_date=context.load_round.reference_date,
        seed=context.sizes.seed,
        prefix=prefix,
    )


async def unloaded(context: Context, client: httpx.AsyncClient) -> Run:
    """Households written one after the other: the latency with nothing queued."""
    count = context.sizes.unloaded // 2
    write = writer(client, context.load_round, _items(context, "U", count), context.households)
    recorder = Recorder()
    started = time.perf_counter()
    for i in range(count):
        await write(i, time.perf_counter(), recorder)
    return Run(None, time.perf_counter() - started, recorder, 0.0)


async def run(context: Context) -> list[Figure]:
    sizes, platform = context.sizes, context.platform
    async with platform.client() as client:
        quiet = await unloaded(context, client)
        await platform.idle()
        budget = round(sizes.write_rate * sizes.seconds) + 10
        write = writer(
            client, context.load_round, _items(context, "P1", budget), context.households
        )
        loaded: Run | wrk.WrkRun
        with profiled(context.profile_dir, "P1", _pids(context)):
            if wrk.available():
                loaded = await _by_wrk(context, "P1", sizes.write_rate, sizes.seconds)
            else:
                loaded = await open_loop(
                    write, rate=sizes.write_rate, seconds=sizes.seconds, requests_per_operation=2
                )
        await platform.idle()
        steps: list[Run | wrk.WrkRun] = []
        for number, rate in enumerate(sizes.steps):
            step: Run | wrk.WrkRun
            if wrk.available():
                step = await _by_wrk(context, f"S{number}", rate, sizes.step_seconds)
            else:
                count = round(rate * sizes.step_seconds) + 10
                items = _items(context, f"S{number}", count)
                step = await open_loop(
                    writer(client, context.load_round, items, context.households),
                    rate=rate,
                    seconds=sizes.step_seconds,
                    requests_per_operation=2,
                )
            steps.append(step)
            await platform.idle()
            if not sustained(step):
                break
    return figures(loaded, quiet, steps)


async def _by_wrk(context: Context, prefix: str, rate: float, seconds: float) -> wrk.WrkRun:
    """Writes by wrk at `rate` requests per second (registrations and surveys alike); the
    households it registered are added to `context.households`."""
    platform = context.platform
    folder = platform.stack.config.log_dir.parent / "wrk"
    folder.mkdir(parents=True, exist_ok=True)
    writes, ids = folder / f"{prefix}-writes.tsv", folder / f"{prefix}-ids.txt"
    ids.unlink(missing_ok=True)
    # A registration and a survey per household: half as many households as requests, and more.
    count = round(rate * seconds / 2 * 1.5) + 20
    with writes.open("w", encoding="utf-8") as out:
        for item in _items(context, prefix, count):
            registration, survey = data.registration(item), data.survey(item)
            code = registration["household_code"]
            out.write(f"{code}\t{json.dumps(registration)}\t{json.dumps(survey)}\n")
    await platform.token.fresh()
    run = await wrk.paced(
        platform.gateway_url,
        rate=rate,
        seconds=seconds,
        headers=platform.token.header,
        writes=writes,
        round_id=context.load_round.id,
        ids=ids,
    )
    if ids.exists():
        context.households.extend(ids.read_text(encoding="utf-8").split())
    return run


def load_note(run: "Run | wrk.WrkRun") -> str:
    """Who made the load and what it cost them (the client's CPU: 100% is one of the cores
    measured), and what it could not send in time."""
    notes = [f"load by {run.by}, client CPU {run.client_cpu_share():.0%} of a core"]
    if run.shed:
        notes.append(
            f"{run.shed:,} operations shed (64 already in flight when due); "
            "latencies are of the requests served"
        )
    if run.late:
        notes.append(
            f"{run.late:,} requests sent late (every connection was waiting when they were "
            "due); latencies are from sending"
        )
    return "; ".join(notes)


def sustained(step: "Run | wrk.WrkRun") -> bool:
    assert step.offered_per_second is not None
    # Nothing failed, and nothing waited for a connection (shed or sent late) beyond 1%.
    served = step.errors() == 0 and not step.shed and step.late <= 0.01 * step.count()
    return served and step.achieved() >= 0.9 * step.offered_per_second


def _pids(context: Context) -> dict[str, int]:
    return {name: context.platform.pid_of(name) for name in ("gateway", "households-api")}


def figures(
    loaded: "Run | wrk.WrkRun", quiet: Run, steps: "list[Run | wrk.WrkRun]"
) -> list[Figure]:
    offered = loaded.offered_per_second or TARGET_RATE
    achieved = loaded.achieved()
    n = loaded.count()
    p95 = loaded.percentile(95)
    met = achieved >= 0.95 * TARGET_RATE and p95 <= TARGET_P95
    details = {
        "errors": loaded.errors(),
        "errors_by_kind": loaded.statuses,
        "shed": loaded.shed,
        "late": loaded.late,
        "load_by": loaded.by,
        "client_cpu_share": round(loaded.client_cpu_share(), 3),
        "by_kind": {
            kind: {
                "n": loaded.count(kind),
                "p50_ms": loaded.percentile(50, kind),
                "p95_ms": loaded.percentile(95, kind),
            }
            for kind in ("register", "survey")
        },
    }
    result = [
        Figure(
            "P1",
            f"write rate achieved at {offered:.0f} writes/s offered",
            achieved,
            "writes/s",
            n,
            reference="offered",
            reference_value=offered,
            ratio=achieved / offered,
            target=f"{TARGET_RATE:.0f} writes/s, p95 ≤ {TARGET_P95:.0f} ms",
            met=met,
            note=load_note(loaded),
            details=details,
        )
    ]
    for q in (50, 95, 99):
        loaded_q, quiet_q = loaded.percentile(q), quiet.percentile(q)
        result.append(
            Figure(
                "P1",
                f"write latency p{q} at {offered:.0f}/s offered",
                loaded_q,
                "ms",
                n,
                reference="one write at a time",
                reference_value=quiet_q,
                ratio=loaded_q / quiet_q if quiet_q else None,
                target=f"≤ {TARGET_P95:.0f} ms" if q == 95 else "",
                met=loaded_q <= TARGET_P95 if q == 95 else None,
                details={"unloaded_n": quiet.count()},
            )
        )
    held = [step for step in steps if sustained(step)]
    best = max((step.offered_per_second or 0.0 for step in held), default=0.0)
    peak = max((step.achieved() for step in steps), default=0.0)
    result.append(
        Figure(
            "P1",
            "saturation: highest offered write rate sustained",
            best,
            "writes/s",
            sum(step.count() for step in steps),
            reference="target",
            reference_value=TARGET_RATE,
            ratio=best / TARGET_RATE,
            target=f"≥ {TARGET_RATE:.0f} writes/s",
            met=best >= TARGET_RATE,
            note=f"peak achieved {peak:.0f} writes/s; steps "
            + ", ".join(
                f"{step.offered_per_second:.0f}→{step.achieved():.0f} "
                f"(p95 {step.percentile(95):.0f} ms)"
                for step in steps
            ),
            details={
                "steps": [
                    {
                        "offered": step.offered_per_second,
                        "achieved": step.achieved(),
                        "p50_ms": step.percentile(50),
                        "p95_ms": step.percentile(95),
                        "errors": step.errors(),
                    }
                    for step in steps
                ]
            },
        )
    )
    return result
