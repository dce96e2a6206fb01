"""What every app's error handling and OpenAPI document say about errors."""

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from kit.db import make_engine
from kit.errors import (
    PROBLEM_JSON,
    PROBLEM_RESPONSES,
    document_unreadable_bodies,
    install_error_handlers,
)


class Thing(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter(prefix="/things", responses=PROBLEM_RESPONSES)

    @router.get("")
    async def list_things() -> list[Thing]:
        return []

    @router.post("", status_code=201)
    async def add_thing(thing: Thing) -> Thing:
        return thing

    app.include_router(router)
    document_unreadable_bodies(app)
    return app


async def _call(app: FastAPI, method: str, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


class TestMethodNotAllowed:
    async def test_names_every_method_the_path_serves(self) -> None:
        response = await _call(_app(), "DELETE", "/things")

        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"
        assert response.headers["content-type"] == PROBLEM_JSON


class TestDocument:
    async def test_problems_are_documented_as_problem_json(self) -> None:
        document = _app().openapi()

        content = document["paths"]["/things"]["get"]["responses"]["404"]["content"]
        assert content[PROBLEM_JSON] == {"schema": {"$ref": "#/components/schemas/Problem"}}
        assert "Problem" in document["components"]["schemas"]

    async def test_an_unreadable_body_is_a_documented_400(self) -> None:
        app = _app()

        response = await _call(
            app, "POST", "/things", content=b"\xff", headers={"content-type": "application/json"}
        )

        operations = app.openapi()["paths"]["/things"]
        assert response.status_code == 400
        assert "400" in operations["post"]["responses"]
        assert "400" not in operations["get"]["responses"]


async def _call_unraised(app: FastAPI, path: str) -> httpx.Response:
    """As a server does: the error handled into a response, not raised into the test."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


async def test_a_database_that_cannot_be_reached_answers_503_with_retry_after() -> None:
    engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/count")
    async def count() -> int:
        async with engine.connect() as connection:
            return int((await connection.execute(text("SELECT 1"))).scalar_one())

    try:
        response = await _call_unraised(app, "/count")
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0
    assert "try again" in response.json()["detail"]


async def test_any_other_unexpected_error_stays_a_500() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/broken")
    async def broken() -> int:
        raise ZeroDivisionError

    response = await _call_unraised(app, "/broken")
    assert response.status_code == 500
    assert "retry-after" not in response.headers
