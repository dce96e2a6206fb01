"""Load from `wrk` (Debian's package) at a fixed offered rate: a compiled client that does not
take an unfair share of the two cores it measures.

wrk itself is a closed loop (each connection sends its next request when the last is answered);
`paced.lua` makes it an open one up to its connections: request i is due at start + i / rate
whichever connection sends it, and a connection with nothing due waits. A request due while every
connection was still waiting is sent as soon as one is free and counted `late`: the server did
not keep up at that many connections in flight (as `bench.load` sheds such a request, wrk sends
it late). Latencies are wrk's own, from sending a request to its answer, so a late request's
wait for a connection is not in them; `late` says how many waited. The client's CPU time is read
from its own `/proc/self/stat` at the end of the run.
"""

import asyncio
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("paced.lua")
MARK = "BENCH-JSON "


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class WrkRun:
    """What one paced wrk run did, answering as `bench.load.Run` does for the figures."""

    offered_per_second: float
    seconds: float
    requests: int  # answered, errors included
    failed: dict[str, int]  # connect, read, write, status (>= 400), timeout
    late: int
    percentiles_ms: dict[float, float]
    client_cpu_seconds: float
    connections: int
    shed: int = 0  # wrk sends late rather than shedding
    statuses: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str | None = None) -> int:
        """Requests answered without error (wrk counts a status >= 400 among its requests)."""
        return max(0, self.requests - self.failed.get("status", 0))

    def errors(self, kind: str | None = None) -> int:
        return sum(self.failed.values())

    def achieved(self, kind: str | None = None) -> float:
        return self.count() / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, kind: str | None = None) -> float:
        return self.percentiles_ms.get(q, math.nan)

    def client_cpu_share(self) -> float:
        return self.client_cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def by(self) -> str:
        return f"wrk -t1 -c{self.connections}, paced"


# uvicorn closes a connection idle for 5 s (its default `--timeout-keep-alive`). Taking turns at
# a low rate, 64 connections would each idle 64 / rate seconds, and wrk counts a request on a
# connection the server closed as an error: 26 of the 51 requests of P1's 5 writes/s step, which
# ended its saturation search there.
SERVER_KEEP_ALIVE_SECONDS = 5.0


def at_most_idle(connections: int, rate: float) -> int:
    """The connections to use at `rate`: at most `connections`, and few enough that each one is
    used again within half the server's keep-alive."""
    return max(1, min(connections, math.floor(rate * SERVER_KEEP_ALIVE_SECONDS / 2)))


async def paced(
    url: str,
    *,
    rate: float,
    seconds: float,
    headers: dict[str, str],
    connections: int = 64,
    paths: Path | None = None,
    writes: Path | None = None,
    round_id: str | None = None,
    ids: Path | None = None,
) -> WrkRun:
    """Run wrk against `url` (the server's base URL) at `rate` requests per second for
    `seconds`: GETs of the `paths` file in turn, or the `writes` file's households registered
    and surveyed in `round_id` (their ids appended to `ids`)."""
    connections = at_most_idle(connections, rate)
    environment = os.environ | {"WRK_RATE": str(rate)}
    if paths is not None:
        environment["WRK_PATHS"] = str(paths)
    if writes is not None:
        assert round_id is not None
        assert ids is not None
        environment |= {"WRK_WRITES": str(writes), "WRK_ROUND": round_id, "WRK_IDS": str(ids)}
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    argv += ["-s", str(SCRIPT)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    process = await asyncio.create_subprocess_exec(
        *argv,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    out, err = await process.communicate()
    text = out.decode()
    line = next((line for line in text.splitlines() if line.startswith(MARK)), None)
    if process.returncode or line is None:
        raise RuntimeError(f"wrk failed: {text}{err.decode()}")
    return parsed(json.loads(line.removeprefix(MARK)), rate, connections)


def parsed(report: dict[str, float], rate: float, connections: int) -> WrkRun:
    failed = {k: int(report[k]) for k in ("connect", "read", "write", "status", "timeout")}
    return WrkRun(
        offered_per_second=rate,
        seconds=report["duration_us"] / 1e6,
        requests=int(report["requests"]),
        failed=failed,
        late=int(report["late"]),
        percentiles_ms={q: report[f"p{q}_us"] / 1000 for q in (50, 95, 99)},
        client_cpu_seconds=report["cpu_ticks"] / os.sysconf("SC_CLK_TCK"),
        connections=connections,
        statuses={f"wrk: {k}": v for k, v in failed.items() if v},
    )
