"""`Idempotency-Key` on creating POSTs (kit.idempotency), on the households service: a retry gets
the first answer and creates nothing more; another request under the same key is refused; keys
belong to their caller."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.config import Settings
from households.household.models import Household
from households.main import create_app
from households.migrate import migrate
from kit import testing
from kit.auth import Role
from kit.db import make_engine, make_sessionmaker
from kit.messaging import InProcessBus
from kit.testing import bearer, trusted_test_keys

from .test_router import household_json

KEY = "Idempotency-Key"


async def households_with(sessionmaker: async_sessionmaker[AsyncSession], code: str) -> int:
    async with sessionmaker() as session:
        query = select(func.count()).where(Household.household_code == code)
        return (await session.exec(query)).one()


async def test_a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    household = household_json()
    key = str(uuid.uuid4())

    first = await client.post("/api/v1/households", json=household, headers={KEY: key})
    retry = await client.post("/api/v1/households", json=household, headers={KEY: key})

    assert first.status_code == 201
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["etag"] == first.headers["etag"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await households_with(sessionmaker, household["household_code"]) == 1


async def test_without_a_key_a_retry_is_a_second_request(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    household = household_json()
    assert (await client.post("/api/v1/households", json=household)).status_code == 201
    again = await client.post("/api/v1/households", json=household)

    # It ran again, and met the household the first one registered: its code is taken.
    assert again.status_code == 409
    assert "idempotent-replayed" not in again.headers
    assert household["household_code"] in again.json()["detail"]
    assert await households_with(sessionmaker, household["household_code"]) == 1


async def test_the_same_key_with_another_body_is_refused(client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    first = await client.post("/api/v1/households", json=household_json(), headers={KEY: key})
    other = await client.post("/api/v1/households", json=household_json(), headers={KEY: key})

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["errors"][0]["loc"] == ["header", KEY]


async def test_a_key_belongs_to_its_caller(
    as_role: Callable[..., httpx.AsyncClient], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    household = household_json()
    key = str(uuid.uuid4())
    one = as_role(Role.ADMIN, subject="user:lan")
    other = as_role(Role.ADMIN, subject="user:minh")

    first = await one.post("/api/v1/households", json=household, headers={KEY: key})
    theirs = await other.post("/api/v1/households", json=household, headers={KEY: key})

    assert first.status_code == 201
    assert "idempotent-replayed" not in theirs.headers  # not the first caller's answer
    assert theirs.status_code != 201
    assert await households_with(sessionmaker, household["household_code"]) == 1


async def test_a_refused_request_is_answered_the_same_again(client: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    body = household_json(commune_code="99999")
    first = await client.post("/api/v1/households", json=body, headers={KEY: key})
    retry = await client.post("/api/v1/households", json=body, headers={KEY: key})
    assert first.status_code == 422
    assert (retry.status_code, retry.json()) == (422, first.json())


@pytest.mark.parametrize("key", [b"", b"x" * 256, "clé".encode()])
async def test_a_malformed_key_is_refused(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], key: bytes
) -> None:
    household = household_json()
    answer = await client.post("/api/v1/households", json=household, headers={KEY: key})

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == ["header", KEY]
    assert await households_with(sessionmaker, household["household_code"]) == 0


async def test_the_document_offers_the_key_on_creating_posts(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    register = document["paths"]["/api/v1/households"]["post"]
    assert KEY in [parameter["name"] for parameter in register["parameters"]]
    listing = document["paths"]["/api/v1/households"]["get"]
    assert KEY not in [parameter["name"] for parameter in listing.get("parameters", [])]


# --- Two replicas on PostgreSQL ------------------------------------------------------------------


@pytest.fixture
async def postgres_url(seeded_database: Path) -> AsyncIterator[str]:
    testing.require_infra()
    url = await testing.create_database("households_idempotency")
    try:
        await migrate(Settings(DATABASE_URL=url, LOG_JSON=False, LOG_LEVEL="WARNING"))
        yield url
    finally:
        await testing.drop_database(url)


@pytest.mark.infra
async def test_two_replicas_racing_on_one_key_create_once(postgres_url: str) -> None:
    settings = Settings(
        ENVIRONMENT="test",
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
        DATABASE_URL=postgres_url,
        MESSAGE_BUS="inprocess",
    )
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    replicas = [
        create_app(settings, bus=InProcessBus(), engine=engine, token_keys=trusted_test_keys())
        for engine in engines
    ]
    household = household_json()
    key = str(uuid.uuid4())
    try:
        async with LifespanManager(replicas[0]) as a, LifespanManager(replicas[1]) as b:
            clients = [
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=manager.app),
                    base_url="http://households",
                    headers=bearer(Role.ADMIN, subject="user:lan") | {KEY: key},
                )
                for manager in (a, b)
            ]
            answers = await asyncio.gather(
                *(
                    clients[attempt % 2].post("/api/v1/households", json=household)
                    for attempt in range(8)
                )
            )
            # Every answer is the first one or "still running"; once done, any replica replays it.
            assert {answer.status_code for answer in answers} <= {201, 409}
            created = [answer.json() for answer in answers if answer.status_code == 201]
            assert created
            assert all(body == created[0] for body in created)
            for client in clients:
                later = await client.post("/api/v1/households", json=household)
                assert (later.status_code, later.json()) == (201, created[0])
                assert later.headers["idempotent-replayed"] == "true"
            for client in clients:
                await client.aclose()
    finally:
        for engine in engines:
            await engine.dispose()
    # Exactly one household, whatever the interleaving.
    engine = make_engine(postgres_url)
    try:
        assert await households_with(make_sessionmaker(engine), household["household_code"]) == 1
    finally:
        await engine.dispose()
