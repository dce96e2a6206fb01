"""What operators see: HTTP metrics by route template, the sampled gauges, pools, and the
operations listener (metrics, liveness, readiness) of a process that serves no HTTP."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table

from kit import ops
from kit.contracts import Envelope
from kit.db import make_engine, utc_now
from kit.messaging import InProcessBus, OutgoingMessage, QueueSpec, stage
from kit.metrics import (
    HttpMetricsMiddleware,
    Sampler,
    job_sampler,
    outbox_sampler,
    queue_sampler,
    record_applied,
)
from kit.testing import free_port

from .conftest import Database


def sample(metric: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(metric, labels)


def app_with_routes(service: str) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/households/{household_id}")
    async def read(household_id: str) -> dict[str, str]:
        return {"id": household_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a defect")

    app.add_middleware(HttpMetricsMiddleware, service=service, root=app)
    return app


class TestHttpMetrics:
    async def test_requests_are_counted_and_timed_by_route_template_not_raw_path(self) -> None:
        app = app_with_routes("metrics-test-a")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            for n in range(3):
                assert (await client.get(f"/api/v1/households/{n}")).status_code == 200
            assert (await client.get("/no/such/path/42")).status_code == 404

        route = "/api/v1/households/{household_id}"
        labels = {"service": "metrics-test-a", "method": "GET", "route": route}
        assert sample("http_requests_total", **labels, status="200") == 3
        assert sample("http_request_duration_seconds_count", **labels) == 3
        unmatched = {"service": "metrics-test-a", "method": "GET", "route": "<unmatched>"}
        assert sample("http_requests_total", **unmatched, status="404") == 1
        text = REGISTRY.get_sample_value  # no label carries a raw path
        assert text("http_requests_total", {**labels, "route": "/api/v1/households/1"}) is None

    async def test_a_request_whose_handler_raises_counts_as_a_500(self) -> None:
        app = app_with_routes("metrics-test-b")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/boom")).status_code == 500
        labels = {"service": "metrics-test-b", "method": "GET", "route": "/boom"}
        assert sample("http_requests_total", **labels, status="500") == 1


def an_envelope(n: int) -> Envelope:
    return Envelope(
        type="households.assessment.recorded.v1",
        schema_version=1,
        producer="households",
        subject=f"household-{n}",
        sequence=n + 1,
        data={},
    )


class TestSampledGauges:
    async def test_the_outbox_backlog_and_the_age_of_its_oldest_row(
        self, database: Database
    ) -> None:
        service = f"outbox-test-{database.dialect}"
        sampler = outbox_sampler(database.sessionmaker, database.outbox, service)
        await sampler()
        assert sample("outbox_backlog_messages", service=service) == 0
        assert sample("outbox_oldest_unpublished_age_seconds", service=service) == 0

        async with database.sessionmaker() as session, session.begin():
            for n in range(3):
                await stage(session, database.outbox, an_envelope(n))
            await session.exec(  # type: ignore[call-overload]
                database.outbox.update()
                .where(database.outbox.c.position == 1)
                .values(created_at=utc_now() - timedelta(minutes=10))
            )
        await sampler()

        assert sample("outbox_backlog_messages", service=service) == 3
        age = sample("outbox_oldest_unpublished_age_seconds", service=service)
        assert age is not None
        assert 600 <= age < 700

    async def test_queue_depth_counts_ready_and_dead_lettered_messages(self) -> None:
        queue = QueueSpec(name="metrics-test.queue", binding_keys=("households.#",))
        bus = InProcessBus(queues=[queue])
        for n in range(2):
            await bus.publish(OutgoingMessage.from_envelope(an_envelope(n)))
        await queue_sampler(bus, [queue])()
        assert sample("messaging_queue_messages", queue=queue.name, kind="ready") == 2
        assert sample("messaging_queue_messages", queue=queue.name, kind="dead_lettered") == 0

    async def test_job_progress_of_the_running_jobs(self, sqlite_database: Database) -> None:
        metadata = MetaData()
        jobs = Table(
            "job",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("status", String(16)),
            Column("done", Integer),
            Column("total", Integer),
        )
        async with sqlite_database.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                jobs.insert(),
                [
                    {"status": "running", "done": 30, "total": 100},
                    {"status": "running", "done": 10, "total": 100},
                    {"status": "completed", "done": 50, "total": 50},
                ],
            )
        sampler = job_sampler(
            sqlite_database.sessionmaker,
            jobs,
            service="jobs-test",
            kind="test",
            done="done",
            total="total",
        )
        await sampler()
        assert sample("jobs", service="jobs-test", kind="test", status="running") == 2
        assert sample("jobs", service="jobs-test", kind="test", status="completed") == 1
        assert sample("job_progress_ratio", service="jobs-test", kind="test") == 0.2
        assert sample("job_items_done", service="jobs-test", kind="test") == 40

    def test_consumer_lag_is_the_age_of_the_newest_event_applied(self) -> None:
        record_applied("lag-test", [utc_now() - timedelta(seconds=90), utc_now()])
        lag = sample("messaging_consumer_lag_seconds", consumer="lag-test")
        assert lag is not None
        assert lag < 5

    async def test_a_sample_that_fails_is_counted_and_the_others_still_run(self) -> None:
        sampler = Sampler(interval=60)
        taken: list[str] = []

        async def broken() -> None:
            raise ConnectionRefusedError("down")

        async def fine() -> None:
            taken.append("fine")

        sampler.add("broken-sample", broken)
        sampler.add("fine-sample", fine)
        before = sample("metrics_sample_failures_total", name="broken-sample") or 0
        await sampler.sample_once()
        assert taken == ["fine"]
        assert sample("metrics_sample_failures_total", name="broken-sample") == before + 1


@pytest.fixture
async def listener(database: Database) -> AsyncIterator[str]:
    """The operations listener of a process whose one database is `database`'s."""
    port = free_port()
    async with ops.serving(port, sampler=Sampler(interval=60), engines=[database.engine], buses=[]):
        yield f"http://127.0.0.1:{port}"


class TestOperationsListener:
    async def test_serves_metrics_liveness_and_readiness_on_its_own_port(
        self, listener: str, database: Database
    ) -> None:
        async with httpx.AsyncClient(base_url=listener) as client:
            metrics = await client.get("/metrics")
            live = await client.get("/health/live")
            ready = await client.get("/health/ready")
        assert metrics.status_code == 200
        assert "process_resident_memory_bytes" in metrics.text
        assert "db_pool_connections_in_use" in metrics.text
        assert live.json() == {"status": "ok"}
        assert ready.status_code == 200, ready.text
        body: dict[str, Any] = ready.json()
        assert body["checks"][f"database:{database.engine.url.database}"] == "ok"

    @pytest.mark.infra
    async def test_is_not_ready_while_a_database_it_uses_cannot_be_reached(self) -> None:
        # The process's engine points at a server that is not there.
        unreachable = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
        port = free_port()
        try:
            async with (
                ops.serving(port, sampler=Sampler(interval=60), engines=[unreachable], buses=[]),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
            ):
                ready = await client.get("/health/ready")
                live = await client.get("/health/live")
        finally:
            await unreachable.dispose()
        assert ready.status_code == 503
        assert ready.json()["checks"]["database:nowhere"].startswith("unavailable")
        assert live.status_code == 200  # alive all the same: restarting it would not help

    async def test_is_not_ready_while_the_broker_is_disconnected(self) -> None:
        bus = InProcessBus(queues=[])
        bus.available = False
        port = free_port()
        async with (
            ops.serving(port, sampler=Sampler(interval=60), engines=[], buses=[bus]),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"broker": "unavailable"}


@pytest.mark.infra
async def test_pool_usage_counts_the_connections_checked_out(
    postgresql_database: Database,
) -> None:
    name = str(postgresql_database.engine.url.database)
    async with postgresql_database.engine.connect(), postgresql_database.engine.connect():
        in_use = sample("db_pool_connections_in_use", database=name)
    assert in_use == 2
    assert sample("db_pool_connections_in_use", database=name) == 0
    assert sample("db_pool_connections_idle", database=name) == 2
