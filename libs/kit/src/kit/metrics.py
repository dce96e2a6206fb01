"""Prometheus metrics every process serves: HTTP traffic, messaging, outbox, jobs, pools.

Each process of the distributed deployment is one service's API, relay, worker or importer, so
the metrics live in prometheus-client's default registry (with its process and Python
collectors). The labels name the service, consumer or queue, so that the embedded run, where every
service shares one process, still tells them apart.

Counters and histograms are updated where things happen; the gauges that need a query (the outbox
backlog, queue depths, job progress) are sampled every few seconds by the process's `Sampler`,
and a sample that fails (the database or broker is down) leaves the last value and is retried.
"""

import asyncio
import contextlib
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import QueuePool
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()

# --- HTTP -------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route template (not the raw path), method and status.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival until its response started, by route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
UNMATCHED_ROUTE = "<unmatched>"  # every path no route serves, so that probes cannot add labels


def route_template(app: ASGIApp, scope: Scope) -> str:
    """The path template of the route that serves `scope` (`/api/v1/households/{id}`)."""
    route = scope.get("route")  # set by FastAPI's routing once a route matched
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str):
        return path
    # Mounts and routes FastAPI did not tag: ask the router which one matches.
    router = getattr(app, "router", None)
    for candidate in getattr(router, "routes", ()):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path_format", None) or getattr(candidate, "path", ""))
    return UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Count every HTTP request and time it until its response starts, by route template."""

    def __init__(self, app: ASGIApp, *, service: str, root: ASGIApp | None = None) -> None:
        self.app = app
        self.service = service
        # The application whose routes name the template (this middleware wraps its stack).
        self.root = root if root is not None else app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                HTTP_DURATION.labels(
                    self.service, scope["method"], route_template(self.root, scope)
                ).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = route_template(self.root, scope)
            HTTP_REQUESTS.labels(self.service, scope["method"], route, str(status)).inc()


# --- Messaging and the outbox -------------------------------------------------------------------

QUEUE_MESSAGES = Gauge(
    "messaging_queue_messages",
    "Messages waiting in a queue (ready, not yet delivered), and in its dead-letter queue.",
    ["queue", "kind"],
)
CONSUMER_LAG = Gauge(
    "messaging_consumer_lag_seconds",
    "Age of the newest event a consumer applied, when it applied it (occurred_at to commit).",
    ["consumer"],
)
EVENTS_APPLIED_AT = Gauge(
    "messaging_consumer_last_applied_timestamp_seconds",
    "When a consumer last applied an event (Unix time).",
    ["consumer"],
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog_messages", "Outbox rows committed but not yet published.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox row; 0 when the backlog is empty.",
    ["service"],
)


def record_applied(consumer: str, occurred: Iterable[datetime]) -> None:
    """A consumer committed events that occurred at `occurred`."""
    newest = max(occurred, default=None)
    if newest is None:
        return
    now = utc_now()
    CONSUMER_LAG.labels(consumer).set(max(0.0, (now - newest).total_seconds()))
    EVENTS_APPLIED_AT.labels(consumer).set(now.timestamp())


def outbox_sampler(
    sessionmaker: async_sessionmaker[AsyncSession], outbox: Table, service: str
) -> "SampleFunction":
    async def sample() -> None:
        statement = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.published_at.is_(None)
        )
        async with sessionmaker() as session:
            count, oldest = (await session.exec(statement)).one()  # type: ignore[call-overload]
        OUTBOX_BACKLOG.labels(service).set(count)
        age = 0.0 if oldest is None else (utc_now() - _aware(oldest)).total_seconds()
        OUTBOX_OLDEST_AGE.labels(service).set(max(0.0, age))

    return sample


def queue_sampler(bus: Any, queues: Iterable[Any]) -> "SampleFunction":
    """Depth of each queue (and its dead letters) as the broker reports it."""
    specs = list(queues)

    async def sample() -> None:
        for spec in specs:
            depth = await bus.queue_depth(spec)
            if depth is None:
                continue
            ready, dead = depth
            QUEUE_MESSAGES.labels(spec.name, "ready").set(ready)
            QUEUE_MESSAGES.labels(spec.name, "dead_lettered").set(dead)

    return sample


# --- Jobs ---------------------------------------------------------------------------------------

JOBS = Gauge("jobs", "Jobs by kind and status.", ["service", "kind", "status"])
JOB_PROGRESS = Gauge(
    "job_progress_ratio",
    "Items done over items to do, of the running jobs of a kind together (1 when none runs).",
    ["service", "kind"],
)
JOB_ITEMS_DONE = Gauge(
    "job_items_done", "Items done so far by the running jobs of a kind.", ["service", "kind"]
)


def job_sampler(
    sessionmaker: async_sessionmaker[AsyncSession],
    table: Table,
    *,
    service: str,
    kind: str,
    done: str,
    total: str,
    running: str = "running",
) -> "SampleFunction":
    """Jobs of `table` by status, and the progress of the running ones (`done` of `total`)."""

    async def sample() -> None:
        status = table.c.status
        async with sessionmaker() as session:
            counts = (await session.exec(select(status, func.count()).group_by(status))).all()  # type: ignore[call-overload]
            progress = select(
                func.coalesce(func.sum(table.c[done]), 0),
                func.coalesce(func.sum(table.c[total]), 0),
            ).where(status == running)
            items_done, items_total = (await session.exec(progress)).one()  # type: ignore[call-overload]
        seen = set()
        for value, count in counts:
            name = getattr(value, "value", value)
            seen.add(name)
            JOBS.labels(service, kind, name).set(count)
        for labels in list(JOBS._metrics):  # statuses that no job has any more
            if labels[:2] == (service, kind) and labels[2] not in seen:
                JOBS.labels(*labels).set(0)
        JOB_ITEMS_DONE.labels(service, kind).set(items_done)
        JOB_PROGRESS.labels(service, kind).set(items_done / items_total if items_total else 1.0)

    return sample


# --- Database pools ----------------------------------------------------------------------------

_ENGINES: "weakref.WeakSet[AsyncEngine]" = weakref.WeakSet()


def track_engine(engine: AsyncEngine) -> None:
    """Report `engine`'s pool (`kit.db.make_engine` calls this for every engine)."""
    _ENGINES.add(engine)


def tracked_engines() -> list[AsyncEngine]:
    return list(_ENGINES)


class PoolCollector(Collector):
    """Connections of each tracked engine's pool, read when scraped, summed per database."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        in_use = GaugeMetricFamily(
            "db_pool_connections_in_use", "Pooled connections checked out.", labels=["database"]
        )
        idle = GaugeMetricFamily(
            "db_pool_connections_idle", "Pooled connections open and free.", labels=["database"]
        )
        size = GaugeMetricFamily(
            "db_pool_size", "Connections the pool keeps (overflow excluded).", labels=["database"]
        )
        totals: dict[str, list[int]] = {}
        for engine in tracked_engines():
            pool = engine.sync_engine.pool
            if not isinstance(pool, QueuePool):
                continue
            row = totals.setdefault(str(engine.url.database), [0, 0, 0])
            row[0] += pool.checkedout()
            row[1] += pool.checkedin()
            row[2] += pool.size()
        for database, (used, free, kept) in sorted(totals.items()):
            in_use.add_metric([database], used)
            idle.add_metric([database], free)
            size.add_metric([database], kept)
        return [in_use, idle, size]


REGISTRY.register(PoolCollector())


# --- Sampling ----------------------------------------------------------------------------------

SampleFunction = Callable[[], Awaitable[None]]

SAMPLE_FAILURES = Counter(
    "metrics_sample_failures", "Samples that could not be taken (the source was down).", ["name"]
)


class Sampler:
    """Runs the process's sample functions every `interval` seconds until stopped."""

    def __init__(self, interval: float = 5.0) -> None:
        self.interval = interval
        self._samples: dict[str, SampleFunction] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, name: str, sample: SampleFunction) -> None:
        self._samples[name] = sample

    async def sample_once(self) -> None:
        for name, sample in list(self._samples.items()):
            try:
                await asyncio.wait_for(sample(), timeout=max(self.interval, 1.0))
            except Exception as error:
                SAMPLE_FAILURES.labels(name).inc()
                log.debug("metrics.sample_failed", sample=name, error=repr(error))

    async def run(self) -> None:
        while True:
            await self.sample_once()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        # A task of an event loop that has ended (a previous test's) is replaced.
        if self._task is None or self._task.get_loop() is not asyncio.get_running_loop():
            self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None and self._task.get_loop() is asyncio.get_running_loop():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


PROCESS_SAMPLER = Sampler()
"""The sampler of this process: relays, consumers and job loops add to it; `kit.ops` runs it."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


__all__ = [
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "PROCESS_SAMPLER",
    "HttpMetricsMiddleware",
    "Sampler",
    "job_sampler",
    "outbox_sampler",
    "queue_sampler",
    "record_applied",
    "route_template",
    "track_engine",
]
