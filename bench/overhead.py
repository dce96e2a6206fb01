"""P3: what the gateway adds. One request, `GET /api/v1/households/{id}` with the same token,
sent straight to the households API, through the gateway, and through nginx in front of the same
API process.

Latency: requests one at a time, the three targets interleaved so that any drift of the machine
touches them alike; p50 of each, and what the proxies add to the direct p50. Throughput: each target
alone at a fixed number of connections for a few seconds, by `wrk` when installed (its client
costs little CPU, which matters on two cores), else by the same closed loop in-process.
"""

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench import nginx, wrk
from bench.context import Context
from bench.load import Recorder, closed_loop, percentile
from bench.profile import profiled
from bench.report import Figure

TARGET_ADDED_MS, TARGET_SHARE = 0.5, 0.8  # issue 10, raised from 2 ms and 50%
NGINX_PORT_OFFSET = 10  # nginx listens at the gateway's port + this


@dataclass
class Measured:
    p50_ms: float
    p95_ms: float
    n: int
    throughput: float
    throughput_n: int
    throughput_by: str
    client_cpu_share: float


async def run(context: Context) -> list[Figure]:
    platform = context.platform
    if not context.households:
        raise RuntimeError("P3 reads a household P1 wrote, and P1 wrote none")
    path = f"/api/v1/households/{context.households[0]}"
    targets = {"direct": platform.url_of("households-api"), "gateway": platform.gateway_url}
    skipped = ""
    if nginx.available():
        port = platform.stack.config.gateway_port + NGINX_PORT_OFFSET
        upstream = platform.stack.ports["households-api"]
        directory = platform.stack.config.log_dir / "nginx"
        async with nginx.nginx_in_front(upstream, port, directory) as url:
            targets["nginx"] = url
            measured = await _measure(context, targets, path)
    else:
        skipped = "nginx is not installed (apt-get install -y nginx): its comparison is skipped"
        measured = await _measure(context, targets, path)
    return figures(measured, skipped)


async def _measure(context: Context, targets: dict[str, str], path: str) -> dict[str, Measured]:
    platform, sizes = context.platform, context.sizes
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    clients = {
        name: httpx.AsyncClient(base_url=url, trust_env=False) for name, url in targets.items()
    }
    token = await platform.token.fresh()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for client in clients.values():  # connections open, caches warm
            for _ in range(3):
                (await client.get(path, headers=headers)).raise_for_status()
        for _ in range(sizes.sequential):
            for name, client in clients.items():
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                latencies[name].append(time.perf_counter() - started)
                response.raise_for_status()
    finally:
        await asyncio.gather(*(client.aclose() for client in clients.values()))
    result = {}
    for name, url in targets.items():
        with profiled(context.profile_dir, f"P3-{name}", _pids(context, name)):
            throughput, count, by, client_cpu = await _throughput(
                url + path, headers, sizes.concurrency, sizes.throughput_seconds
            )
        values = sorted(latencies[name])
        result[name] = Measured(
            p50_ms=percentile(values, 50) * 1000,
            p95_ms=percentile(values, 95) * 1000,
            n=len(values),
            throughput=throughput,
            throughput_n=count,
            throughput_by=by,
            client_cpu_share=client_cpu,
        )
    return result


def _pids(context: Context, target: str) -> dict[str, int]:
    names = ["households-api"] + (["gateway"] if target == "gateway" else [])
    return {name: context.platform.pid_of(name) for name in names}


async def _throughput(
    url: str, headers: dict[str, str], connections: int, seconds: float
) -> tuple[float, int, str, float]:
    """Requests per second at `connections` back-to-back connections, how many were made, what
    measured it and the CPU share of one core it took."""
    if wrk.available():
        path = urlsplit(url).path
        listed = _listing(path)
        try:
            # Paced far above what any target answers: each connection sends back to back.
            by_wrk = await wrk.paced(
                url.removesuffix(path),
                rate=1_000_000,
                seconds=seconds,
                headers=headers,
                connections=connections,
                paths=listed,
            )
        finally:
            os.unlink(listed)
        if by_wrk.errors():
            raise RuntimeError(f"wrk got errors from {url}: {by_wrk.statuses}")
        by = f"wrk -t1 -c{connections}"
        return by_wrk.achieved(), by_wrk.count(), by, by_wrk.client_cpu_share()
    async with httpx.AsyncClient(
        headers=headers,
        trust_env=False,
        limits=httpx.Limits(max_connections=connections),
        timeout=30,
    ) as client:

        async def read(i: int, due: float, recorder: Recorder) -> None:
            await recorder.request("read", due, client.get(url))

        run = await closed_loop(read, concurrency=connections, seconds=seconds)
    by = f"httpx, {connections} connections"
    return run.achieved(), run.count(), by, run.client_cpu_share()


def _listing(path: str) -> Path:
    """A file naming `path` alone, for wrk to request again and again."""
    descriptor, name = tempfile.mkstemp(prefix="bench-p3-", suffix=".txt")
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(path + "\n")
    return Path(name)


def figures(measured: dict[str, Measured], skipped: str) -> list[Figure]:
    direct = measured["direct"]
    result = []
    for proxy in ("gateway", "nginx"):
        if proxy not in measured:
            continue
        m = measured[proxy]
        added = m.p50_ms - direct.p50_ms
        share = m.throughput / direct.throughput if direct.throughput else float("nan")
        is_gateway = proxy == "gateway"
        result += [
            Figure(
                "P3",
                f"{proxy}: latency added at p50 (one request at a time)",
                added,
                "ms",
                m.n,
                reference="direct p50",
                reference_value=direct.p50_ms,
                ratio=m.p50_ms / direct.p50_ms,
                target=f"≤ {TARGET_ADDED_MS:g} ms" if is_gateway else "(comparison)",
                met=added <= TARGET_ADDED_MS if is_gateway else None,
                details={"p50_ms": m.p50_ms, "p95_ms": m.p95_ms, "direct_p95_ms": direct.p95_ms},
            ),
            Figure(
                "P3",
                f"{proxy}: throughput ({m.throughput_by})",
                m.throughput,
                "req/s",
                m.throughput_n,
                reference="direct",
                reference_value=direct.throughput,
                ratio=share,
                target=f"≥ {TARGET_SHARE:.0%} of direct" if is_gateway else "(comparison)",
                met=share >= TARGET_SHARE if is_gateway else None,
                note=f"client CPU {m.client_cpu_share:.0%} of a core "
                f"({direct.client_cpu_share:.0%} against the API directly)",
                details={
                    "client_cpu_share": m.client_cpu_share,
                    "direct_client_cpu_share": direct.client_cpu_share,
                },
            ),
        ]
    if skipped:
        result[-1].note = f"{result[-1].note}; {skipped}"
    return result
