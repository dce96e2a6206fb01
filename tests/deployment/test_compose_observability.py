"""What operators see in docker-compose.yml: a health check on every process, Prometheus scraping
every process where it serves its metrics, and Grafana provisioned with a dashboard of metrics the
code defines.

The health checks' commands are also run against the processes started natively (the
`test_native_observability` module); here the file is read and checked against the code.
"""

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from prometheus_client import REGISTRY
from support.compose_file import ROOT, SERVICES, UVICORN, Process, processes

import gateway.metrics
import kit.messaging
import kit.metrics

HEALTH_PATH = "/health/live"
METRICS_PATH = "/metrics"
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"


def long_running() -> list[Process]:
    return [process for process in processes().values() if not process.one_shot]


def healthcheck_url(service: dict[str, Any]) -> str:
    urls = re.findall(r"https?://[^'\"\s]+", " ".join(service["healthcheck"]["test"]))
    assert len(urls) == 1, urls
    return str(urls[0])


def metrics_port(process: Process) -> int:
    """Where the process serves /metrics: its operations listener, else its HTTP port."""
    if "METRICS_PORT" in process.environment:
        return int(process.environment["METRICS_PORT"])
    assert process.port is not None, f"{process.name} serves no metrics anywhere"
    return process.port


def mounted(service: dict[str, Any], target: str) -> Path:
    """The file or folder of this repository mounted at `target` in the container."""
    for volume in service.get("volumes", []):
        source, mount, *_ = str(volume).split(":")
        if mount == target:
            assert source.startswith("./"), f"{target}: {source} is not a file of this repository"
            path = ROOT / source
            assert path.exists(), f"{source} does not exist"
            return path
    raise AssertionError(f"nothing mounted at {target}")


# === Health checks ================================================================================


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        process = processes().get(name)
        if process is not None and process.one_shot:
            continue  # migrations run to completion; their success is the condition
        assert "healthcheck" in service, f"{name} has no healthcheck"
        assert not service["healthcheck"].get("disable"), name


@pytest.mark.parametrize("name", sorted(p.name for p in long_running() if p.name not in UVICORN))
def test_each_process_without_http_is_probed_on_its_operations_listener(name: str) -> None:
    process = processes()[name]
    assert "METRICS_PORT" in process.environment, f"{name}: set METRICS_PORT (x-operations-env)"
    assert process.environment.get("METRICS_HOST") == "0.0.0.0", "Prometheus could not reach it"
    url = urlsplit(healthcheck_url(dict(process.service)))
    assert url.hostname in ("127.0.0.1", "localhost")
    assert (url.port, url.path) == (int(process.environment["METRICS_PORT"]), HEALTH_PATH)
    test = process.service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], "the images have Python, not curl"


def test_the_gateway_serves_its_metrics_on_a_port_that_is_not_published() -> None:
    [gateway_process] = [p for p in processes().values() if p.module == "gateway.main"]
    port = int(gateway_process.environment["METRICS_PORT"])
    assert port != gateway_process.port
    published = {str(entry).rsplit(":", 1)[-1] for entry in gateway_process.service["ports"]}
    assert str(port) not in published


# === Prometheus ===================================================================================


def scrape_targets() -> dict[str, tuple[str, int, str]]:
    """Job name -> (compose service, port, path) of every job of the scrape configuration."""
    config = yaml.safe_load(mounted(SERVICES["prometheus"], PROMETHEUS_CONFIG).read_text())
    targets = {}
    for job in config["scrape_configs"]:
        path = job.get("metrics_path", METRICS_PATH)
        for discovery in job.get("dns_sd_configs", []):
            assert discovery.get("type") == "A", job["job_name"]
            for name in discovery["names"]:
                targets[job["job_name"]] = (name, int(discovery["port"]), path)
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, _, port = target.rpartition(":")
                service = "prometheus" if host in ("127.0.0.1", "localhost") else host
                targets[job["job_name"]] = (service, int(port), path)
    return targets


def test_prometheus_scrapes_every_long_running_process() -> None:
    scraped = {service for service, _, _ in scrape_targets().values()}
    missing = {process.name for process in long_running()} - scraped
    assert not missing, f"not scraped: {missing}"


def test_every_scrape_target_is_a_service_of_the_file_where_it_serves_its_metrics() -> None:
    for job, (service, port, path) in scrape_targets().items():
        assert service in SERVICES, f"{job}: {service} is no service of the file"
        if service == "prometheus":
            continue
        process = processes()[service]
        assert (port, path) == (metrics_port(process), METRICS_PATH), job


def test_prometheus_and_grafana_start_in_order_and_keep_their_data() -> None:
    assert SERVICES["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"
    for name, data in (("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana")):
        volumes = [str(volume).split(":") for volume in SERVICES[name]["volumes"]]
        assert any(target == data and not source.startswith(".") for source, target, *_ in volumes)


# === Grafana ======================================================================================


def provisioning() -> Path:
    return mounted(SERVICES["grafana"], GRAFANA_PROVISIONING)


def dashboards() -> list[dict[str, Any]]:
    provider = yaml.safe_load((provisioning() / "dashboards" / "platform.yml").read_text())
    [source] = provider["providers"]
    folder = mounted(SERVICES["grafana"], source["options"]["path"])
    found = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
    assert found, f"no dashboard in {folder}"
    return found


def test_grafana_reads_the_prometheus_of_the_file() -> None:
    config = yaml.safe_load((provisioning() / "datasources" / "prometheus.yml").read_text())
    [source] = config["datasources"]
    url = urlsplit(source["url"])
    assert source["type"] == "prometheus"
    assert url.hostname == "prometheus"
    assert url.port == int(SERVICES["prometheus"]["ports"][0].rsplit(":", 1)[-1])
    for dashboard in dashboards():
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == source["uid"], panel["title"]


def defined_metric_names() -> set[str]:
    """Every sample name the code's metrics expose (default registry and the gateway's)."""
    # kit.metrics and kit.messaging are imported for the metrics they define.
    assert {kit.metrics.__name__, kit.messaging.__name__}
    registries = [REGISTRY, gateway.metrics.Metrics().registry]
    names = set()
    for registry in registries:
        for family in registry.collect():
            names.add(family.name)
            names.update(
                family.name + suffix
                for suffix in ("_total", "_bucket", "_count", "_sum", "_created")
            )
    return names


def test_every_metric_a_panel_queries_is_one_the_code_defines() -> None:
    defined = defined_metric_names()
    functions = {"sum", "by", "rate", "max", "histogram_quantile", "time", "le"}
    for dashboard in dashboards():
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                expression = re.sub(r"\{[^}]*\}|\[[^]]*\]|\"[^\"]*\"", "", target["expr"])
                words = set(re.findall(r"[a-z_][a-z0-9_]*", expression))
                named = {word for word in words if "_" in word} - functions
                unknown = named - defined - {"service", "method", "route", "consumer", "queue"}
                assert not unknown, f"{panel['title']}: {unknown} is no metric of the code"


def test_the_dashboard_shows_what_operators_need() -> None:
    queried = " ".join(
        target["expr"]
        for dashboard in dashboards()
        for panel in dashboard["panels"]
        for target in panel["targets"]
    )
    for metric in (
        "messaging_queue_messages",
        "outbox_backlog_messages",
        "outbox_oldest_unpublished_age_seconds",
        "messages_handled_total",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "job_progress_ratio",
        "db_pool_connections_in_use",
    ):
        assert metric in queried, f"no panel shows {metric}"
