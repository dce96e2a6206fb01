"""Operational endpoints: the platform's health.

The gateway's metrics are not here: they are on its operations listener (METRICS_PORT, kit.ops),
which the public port does not expose.
"""

import asyncio
import time
from typing import Any, Literal

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, JsonValue

from gateway.state import SettingsDep, UpstreamsDep

router = APIRouter(tags=["health"])


class ServiceHealth(BaseModel):
    status: str = Field(
        description="`ok`, the service's own word for trouble (`unavailable`), "
        "or `unreachable` / `timeout` when it did not answer."
    )
    checks: dict[str, JsonValue] = Field(
        default={}, description="The service's own readiness checks, as it reported them."
    )
    latency_ms: float = Field(description="How long its readiness check took, in milliseconds.")


class HealthReport(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="`ok` when every service answers, else `degraded`."
    )
    services: dict[str, ServiceHealth] = Field(description="Each service's readiness, by name.")


class Liveness(BaseModel):
    status: Literal["ok"] = Field(default="ok", description="`ok`: the gateway's process is up.")


async def _probe(upstream: httpx.AsyncClient, seconds: float) -> ServiceHealth:
    started = time.perf_counter()
    body: dict[str, Any] = {}
    try:
        # One deadline for the whole probe: httpx's timeouts apply to each network step.
        async with asyncio.timeout(seconds):
            response = await upstream.get("/health/ready")
    except (TimeoutError, httpx.TimeoutException):
        status = "timeout"
    except httpx.HTTPError:
        status = "unreachable"
    else:
        body = _json_object(response)
        reported = body.get("status")
        if response.status_code == 200 and reported == "ok":
            status = "ok"
        else:
            status = reported if isinstance(reported, str) and reported != "ok" else "unavailable"
    checks = body.get("checks")
    return ServiceHealth(
        status=status,
        checks=checks if isinstance(checks, dict) else {},
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@router.get("/health", response_model=HealthReport, responses={503: {"model": HealthReport}})
async def get_health(settings: SettingsDep, upstreams: UpstreamsDep) -> JSONResponse:
    """Readiness of every service behind the gateway; 503 when any is not ready."""
    names = list(upstreams)
    probes = [_probe(upstreams[name], settings.HEALTH_TIMEOUT_SECONDS) for name in names]
    services = dict(zip(names, await asyncio.gather(*probes), strict=True))
    healthy = all(service.status == "ok" for service in services.values())
    report = HealthReport(status="ok" if healthy else "degraded", services=services)
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if healthy else 503)


@router.get("/health/live", response_model=Liveness)
async def get_liveness() -> Liveness:
    """The gateway process is up; says nothing about the services."""
    return Liveness()
