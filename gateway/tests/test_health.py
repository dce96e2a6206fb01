import asyncio

import httpx

from gateway.config import Settings

READY = {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
NOT_READY = {"status": "unavailable", "checks": {"database": "ok", "broker": "unavailable"}}


def ready(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/health/ready"
    return httpx.Response(200, json=READY)


def not_ready(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json=NOT_READY)


def too_slow(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


class TestHealth:
    async def test_is_ok_when_every_service_is_ready(self, serve) -> None:
        async with serve(households=ready, indicators=ready, notifications=ready) as client:
            response = await client.get("/health")

        assert response.status_code == 200
        report = response.json()
        assert report["status"] == "ok"
        assert set(report["services"]) == {"households", "indicators", "notifications"}
        for service in report["services"].values():
            assert service["status"] == "ok"
            assert service["checks"] == READY["checks"]
            assert service["latency_ms"] >= 0

    async def test_is_degraded_with_503_when_a_service_is_not_ready(self, serve) -> None:
        async with serve(households=ready, indicators=not_ready, notifications=ready) as client:
            response = await client.get("/health")

        assert response.status_code == 503
        report = response.json()
        assert report["status"] == "degraded"
        assert report["services"]["indicators"]["status"] == "unavailable"
        assert report["services"]["indicators"]["checks"] == NOT_READY["checks"]
        assert report["services"]["households"]["status"] == "ok"

    async def test_names_a_service_that_cannot_be_reached_or_is_too_slow(self, serve) -> None:
        async with serve(households=ready, indicators=too_slow) as client:
            response = await client.get("/health")

        assert response.status_code == 503
        services = response.json()["services"]
        assert services["indicators"] == {
            "status": "timeout",
            "checks": {},
            "latency_ms": services["indicators"]["latency_ms"],
        }
        assert services["notifications"]["status"] == "unreachable"

    async def test_does_not_wait_for_a_service_that_hangs(self, serve, settings: Settings) -> None:
        async def hangs(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(60)
            return httpx.Response(200, json=READY)

        impatient = settings.model_copy(update={"HEALTH_TIMEOUT_SECONDS": 0.05})
        async with serve(impatient, households=ready, indicators=hangs) as client:
            response = await client.get("/health")

        assert response.status_code == 503
        assert response.json()["services"]["indicators"]["status"] == "timeout"

    async def test_a_ready_status_code_with_a_body_saying_otherwise_is_not_ok(self, serve) -> None:
        async with serve(
            households=lambda request: httpx.Response(200, text="fine, probably"),
            indicators=ready,
            notifications=ready,
        ) as client:
            response = await client.get("/health")

        assert response.status_code == 503
        assert response.json()["services"]["households"]["status"] == "unavailable"


async def test_liveness_is_the_gateway_alone_and_ok_while_services_are_down(serve) -> None:
    async with serve() as client:
        response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
