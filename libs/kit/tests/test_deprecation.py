from datetime import date

import httpx
import pytest
from fastapi import FastAPI

from kit.deprecation import retiring


def app_with_a_retiring_route() -> FastAPI:
    app = FastAPI()

    @app.get(
        "/api/v1/old",
        **retiring(since=date(2027, 1, 1), sunset=date(2027, 7, 1), successor="/api/v1/new"),
    )
    async def old() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/new")
    async def new() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def test_a_retiring_operation_announces_its_deprecation_and_sunset() -> None:
    app = app_with_a_retiring_route()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        old, new = await c.get("/api/v1/old"), await c.get("/api/v1/new")
    assert old.headers["Deprecation"] == "@1798761600"  # 2027-01-01T00:00:00Z
    assert old.headers["Sunset"] == "Thu, 01 Jul 2027 00:00:00 GMT"
    assert old.headers["Link"] == '</api/v1/new>; rel="successor-version"'
    assert "Deprecation" not in new.headers


def test_the_document_marks_it_deprecated_with_its_sunset() -> None:
    operation = app_with_a_retiring_route().openapi()["paths"]["/api/v1/old"]["get"]
    assert operation["deprecated"] is True
    assert operation["x-sunset"] == "2027-07-01"
    assert operation["x-successor"] == "/api/v1/new"


def test_a_sunset_before_the_deprecation_is_refused() -> None:
    with pytest.raises(ValueError, match="sunset"):
        retiring(since=date(2027, 7, 1), sunset=date(2027, 1, 1))
