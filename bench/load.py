"""Load generation: an open loop at a fixed offered rate, and a closed loop for peak throughput.

The open loop starts operation `i` at `start + i / rate` whatever happened to the ones before it
(no coordinated omission): a latency counts from the moment the operation was due. At most
`max_in_flight` operations run at once; one due while that many are still waiting for the server
is shed (not sent, and counted), so an overloaded server is measured at that much concurrency
rather than behind a queue that would grow for as long as the run lasts. An operation
is one coroutine that makes one or more requests and records each under a name; a request that
fails (transport error or status >= 400) is counted as an error, not as a latency.
"""

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx


class Recorder:
    """Latencies (seconds) and errors per kind of request, and when the last one finished."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.last_done = 0.0

    def ok(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.last_done = time.perf_counter()

    def failed(self, kind: str, why: str) -> None:
        self.errors[kind] += 1
        self.statuses[f"{kind}: {why}"] += 1
        self.last_done = time.perf_counter()

    async def request(
        self, kind: str, due: float, call: Awaitable[httpx.Response]
    ) -> httpx.Response | None:
        """Await `call`, recording its latency from `due`; the response, or None if it failed."""
        try:
            response = await call
        except httpx.HTTPError as error:
            self.failed(kind, type(error).__name__)
            return None
        if response.status_code >= 400:
            self.failed(kind, str(response.status_code))
            return None
        self.ok(kind, time.perf_counter() - due)
        return response


Operation = Callable[[int, float, Recorder], Awaitable[None]]
"""`operation(i, due, recorder)`: the i-th operation, due at `due` (perf_counter seconds)."""


@dataclass
class Run:
    """What one run of load did: per kind, N, achieved rate and latency percentiles."""

    offered_per_second: float | None  # requests per second; None for a closed loop
    seconds: float  # from the first due time to the last completion
    recorder: Recorder
    client_cpu_seconds: float
    shed: int = 0  # operations not sent: `max_in_flight` were still waiting when they were due
    kinds: Sequence[str] = field(default_factory=tuple)

    def count(self, kind: str | None = None) -> int:
        kinds = [kind] if kind else list(self.recorder.latencies)
        return sum(len(self.recorder.latencies.get(k, [])) for k in kinds)

    def errors(self, kind: str | None = None) -> int:
        return self.recorder.errors[kind] if kind else sum(self.recorder.errors.values())

    def achieved(self, kind: str | None = None) -> float:
        return self.count(kind) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, kind: str | None = None) -> float:
        """The q-th percentile (0-100) latency in milliseconds, nearest rank; NaN if none."""
        kinds = [kind] if kind else list(self.recorder.latencies)
        values = sorted(v for k in kinds for v in self.recorder.latencies.get(k, []))
        return percentile(values, q) * 1000

    def client_cpu_share(self) -> float:
        """The load generator's own CPU time per second of the run (1.0 = one core)."""
        return self.client_cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def statuses(self) -> dict[str, int]:
        return dict(self.recorder.statuses)

    @property
    def late(self) -> int:
        return 0  # this client sheds what it cannot send in time

    @property
    def by(self) -> str:
        return "in-process httpx client"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def open_loop(
    operation: Operation,
    *,
    rate: float,
    seconds: float,
    requests_per_operation: int = 1,
    max_in_flight: int = 64,
    drain_seconds: float = 30.0,
) -> Run:
    """Start `rate / requests_per_operation` operations a second for `seconds`, then wait (at
    most `drain_seconds`) for those in flight. `rate` is in requests per second."""
    count = max(1, round(rate / requests_per_operation * seconds))
    return await _paced(
        operation,
        rate=rate,
        requests_per_operation=requests_per_operation,
        until=lambda i: i >= count,
        max_in_flight=max_in_flight,
        drain_seconds=drain_seconds,
        seconds=seconds,
    )


async def steady(
    operation: Operation,
    *,
    rate: float,
    stop: asyncio.Event,
    requests_per_operation: int = 1,
    max_in_flight: int = 64,
) -> Run:
    """Like `open_loop`, until `stop` is set: a steady background load."""
    return await _paced(
        operation,
        rate=rate,
        requests_per_operation=requests_per_operation,
        until=lambda _: stop.is_set(),
        max_in_flight=max_in_flight,
        drain_seconds=30.0,
        seconds=0.0,
    )


async def _paced(
    operation: Operation,
    *,
    rate: float,
    requests_per_operation: int,
    until: Callable[[int], bool],
    max_in_flight: int,
    drain_seconds: float,
    seconds: float,
) -> Run:
    recorder = Recorder()
    per_second = rate / requests_per_operation
    in_flight = 0
    shed = 0
    tasks: list[asyncio.Task[None]] = []
    cpu = time.process_time()
    start = time.perf_counter() + 0.05

    async def run_one(i: int, due: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            await operation(i, due, recorder)
        finally:
            in_flight -= 1

    i = 0
    while not until(i):
        due = start + i / per_second
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        if in_flight >= max_in_flight:
            shed += 1
        else:
            tasks.append(asyncio.create_task(run_one(i, due)))
        i += 1
    pending: set[asyncio.Task[None]] = set()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=drain_seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failures = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    if failures:  # a bug in an operation, not an answer of the server
        raise failures[0]  # type: ignore[misc]
    recorder.errors["unfinished"] += len(pending)
    end = max(recorder.last_done, start + seconds)
    return Run(
        offered_per_second=rate,
        seconds=end - start,
        recorder=recorder,
        client_cpu_seconds=time.process_time() - cpu,
        shed=shed,
    )


async def closed_loop(operation: Operation, *, concurrency: int, seconds: float) -> Run:
    """`concurrency` workers each run operations back to back for `seconds`."""
    recorder = Recorder()
    counter = iter(range(1 << 62))
    cpu = time.process_time()
    start = time.perf_counter()
    stop = start + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            await operation(next(counter), time.perf_counter(), recorder)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(
        offered_per_second=None,
        seconds=time.perf_counter() - start,
        recorder=recorder,
        client_cpu_seconds=time.process_time() - cpu,
    )
