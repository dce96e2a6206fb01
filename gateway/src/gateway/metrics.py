"""Prometheus metrics of the traffic the gateway forwards.

Served with the process's own (kit.metrics) on the gateway's operations listener (METRICS_PORT),
not on its public port.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    """One registry per app, so that several apps (tests, the embedded runner) never collide."""

    def __init__(self) -> None:
        # The process collector is in the default registry, served beside this one.
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "gateway_upstream_requests",
            "Requests forwarded, by upstream and response status.",
            ["upstream", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "gateway_upstream_request_duration_seconds",
            "Time until the upstream's response headers arrived, by upstream and status.",
            ["upstream", "status"],
            registry=self.registry,
        )

    def observe(self, upstream: str, status: int, seconds: float) -> None:
        self._requests.labels(upstream=upstream, status=str(status)).inc()
        self._duration.labels(upstream=upstream, status=str(status)).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
