"""The processes of docker-compose.yml started natively (`launcher.distributed`), as operators see
them: each health check's own command passes against its process, each process is ready, serves
Prometheus metrics where the scrape configuration looks, and writes nothing but JSON lines."""

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from support.compose_file import SERVICES, processes
from support.platform_api import PasswordLogin

from kit import testing
from launcher.distributed import DistributedStack, StackConfig

pytestmark = [pytest.mark.infra, pytest.mark.asyncio(loop_scope="module")]

ADMIN_PASSWORD = "observability-first-admin"
REQUEST_ID = "observability-probe-1"
Samples = dict[str, list[tuple[dict[str, str], float]]]
LONG_RUNNING = sorted(name for name, process in processes().items() if not process.one_shot)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DistributedStack]:
    testing.require_infra()
    vhost = testing.create_vhost()
    stack = DistributedStack(
        StackConfig(
            postgres_url=testing.POSTGRES_URL,
            rabbitmq_url=vhost,
            database_prefix=f"obs_{vhost.rsplit('-', 1)[-1]}_",
            gateway_port=18200,
            first_service_port=18201,
            first_metrics_port=18300,
            log_dir=tmp_path_factory.mktemp("logs"),
            state_dir=tmp_path_factory.mktemp("state"),
            admin_password=ADMIN_PASSWORD,
            # INFO, so that the access lines are there to check; samples taken often.
            extra_environment={"LOG_LEVEL": "INFO", "METRICS_SAMPLE_SECONDS": "0.2"},
        )
    )
    await stack.create_databases()
    try:
        stack.migrate()
        stack.start()
        await stack.wait_healthy(within=120)
        login = PasswordLogin(stack.admin_username, stack.admin_password)
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, auth=login) as api:
            # Traffic for the metrics and the logs: a read through the gateway to a service.
            response = await api.get("/api/v1/rounds", headers={"X-Request-ID": REQUEST_ID})
            assert response.status_code == 200, response.text
        yield stack
    finally:
        stack.stop()
        await stack.drop_databases()
        testing.delete_vhost(vhost)


def native_port(stack: DistributedStack, name: str, container_port: int) -> int:
    """The port this process listens on natively for what its container serves on `port`."""
    if container_port == processes()[name].port:
        return stack.ports[name]
    return stack.metrics_ports[name]


@pytest.mark.parametrize("name", LONG_RUNNING)
async def test_each_health_check_command_passes_against_the_process(
    name: str, stack: DistributedStack
) -> None:
    test = SERVICES[name]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    code = re.sub(
        r"http://127\.0\.0\.1:(\d+)",
        lambda m: f"http://127.0.0.1:{native_port(stack, name, int(m.group(1)))}",
        test[3],
    )
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", LONG_RUNNING)
async def test_each_process_is_ready_with_what_it_depends_on(
    name: str, stack: DistributedStack
) -> None:
    async with httpx.AsyncClient(base_url=stack.metrics_url_of(name), timeout=10) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert any(check.startswith("database") for check in checks), checks
    if name != "households-importer":  # the one process without a broker connection
        assert checks.get("broker") == "ok", checks


async def families(
    stack: DistributedStack, name: str
) -> dict[str, list[tuple[dict[str, str], float]]]:
    async with httpx.AsyncClient(base_url=stack.metrics_url_of(name), timeout=10) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


# What each kind of process must show (a sample name, and labels the sample must carry).
EXPECTED = {
    "households-relay": [("outbox_backlog_messages", {"service": "households"})],
    "indicators-relay": [("outbox_oldest_unpublished_age_seconds", {"service": "indicators"})],
    "indicators-worker": [
        ("messaging_queue_messages", {"kind": "ready"}),
        ("job_progress_ratio", {"kind": "recalculation"}),
    ],
    "notifications-worker": [("messaging_queue_messages", {"kind": "dead_lettered"})],
    "households-importer": [("job_progress_ratio", {"kind": "import"})],
    "gateway": [
        ("gateway_upstream_requests_total", {"upstream": "households"}),
        ("http_requests_total", {"service": "gateway"}),
        ("outbox_backlog_messages", {"service": "gateway"}),
    ],
    "households-api": [
        ("http_requests_total", {"route": "/api/v1/rounds", "method": "GET"}),
        ("http_request_duration_seconds_bucket", {"route": "/api/v1/rounds"}),
        ("db_pool_connections_in_use", {}),
    ],
    "indicators-api": [("process_resident_memory_bytes", {})],
    "notifications-api": [("process_open_fds", {})],
}


@pytest.mark.parametrize("name", LONG_RUNNING)
async def test_each_process_serves_its_metrics_where_prometheus_scrapes_them(
    name: str, stack: DistributedStack
) -> None:
    expected = EXPECTED[name]
    missing = expected
    for _ in range(50):  # the sampled gauges appear within a few sample intervals
        found = await families(stack, name)
        missing = [
            (sample, wanted)
            for sample, wanted in expected
            if not any(labels.items() >= wanted.items() for labels, _ in found.get(sample, []))
        ]
        if not missing:
            return
        await asyncio.sleep(0.3)
    pytest.fail(f"{name} does not show {missing}")


async def test_every_line_every_process_wrote_is_json_with_the_request_id_where_there_was_one(
    stack: DistributedStack,
) -> None:
    logs: dict[str, list[dict[str, object]]] = {}
    for name in LONG_RUNNING:
        path: Path = stack.config.log_dir / f"{name}.log"
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines, f"{name} wrote nothing"
        for line in lines:
            try:
                logs.setdefault(name, []).append(json.loads(line))
            except ValueError:
                pytest.fail(f"{name} wrote a line that is not JSON: {line[:300]}")
    access = [
        line
        for line in logs["households-api"]
        if line.get("logger") == "uvicorn.access" and line.get("path") == "/api/v1/rounds"
    ]
    assert access, "no access line of the households API"
    assert {line.get("request_id") for line in access} == {REQUEST_ID}
