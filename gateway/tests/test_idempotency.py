"""`Idempotency-Key` on the gateway's own creating POSTs (users, API keys); what it forwards keeps
its keys in the service that answers it."""

import httpx
from sqlalchemy import func, select

from gateway.db import idempotency_keys
from kit.db import make_engine

PASSWORD = "correct horse battery"
KEY = {"Idempotency-Key": "7b0f3c52-9d41-4a6e-8f17-2c5e9a0d4b83"}


def new_user(username: str) -> dict[str, object]:
    return {"username": username, "password": PASSWORD, "role": "enumerator", "units": ["08707"]}


async def kept_keys(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            statement = select(func.count()).select_from(idempotency_keys)
            return int((await connection.execute(statement)).scalar_one())
    finally:
        await engine.dispose()


async def test_a_retried_user_creation_gets_the_first_answer_and_creates_one_user(serve) -> None:
    async with serve() as client:
        first = await client.post("/api/v1/admin/users", json=new_user("lan"), headers=KEY)
        retried = await client.post("/api/v1/admin/users", json=new_user("lan"), headers=KEY)
        listed = (await client.get("/api/v1/admin/users")).json()

    assert first.status_code == 201
    assert retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == first.json()
    assert [user["username"] for user in listed["items"]] == ["lan"]


async def test_the_same_key_with_another_request_is_refused_naming_the_header(serve) -> None:
    async with serve() as client:
        await client.post("/api/v1/admin/users", json=new_user("lan"), headers=KEY)
        other = await client.post("/api/v1/admin/users", json=new_user("anh"), headers=KEY)
        listed = (await client.get("/api/v1/admin/users")).json()

    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert [user["username"] for user in listed["items"]] == ["lan"]


async def test_a_forwarded_post_keeps_its_key_in_the_service_not_the_gateway(
    serve, settings
) -> None:
    forwarded: list[httpx.Request] = []

    def households(request: httpx.Request) -> httpx.Response:
        forwarded.append(request)
        return httpx.Response(201, json={"id": "made"})

    async with serve(households=households) as client:
        for _ in range(2):
            answer = await client.post("/api/v1/households", json={}, headers=KEY)
            assert answer.status_code == 201

    # Both reach the service, with the header, which replays the first itself.
    assert [r.headers["Idempotency-Key"] for r in forwarded] == [KEY["Idempotency-Key"]] * 2
    assert await kept_keys(settings.DATABASE_URL) == 0


async def test_a_new_api_key_is_never_kept_for_a_replay(serve, settings) -> None:
    """Its answer holds the secret, which the gateway keeps only hashed."""
    body = {"name": "MOLISA statistics", "role": "ministry_analyst", "units": None}
    async with serve() as client:
        first = await client.post("/api/v1/admin/api-keys", json=body, headers=KEY)
        second = await client.post("/api/v1/admin/api-keys", json=body, headers=KEY)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert await kept_keys(settings.DATABASE_URL) == 0
