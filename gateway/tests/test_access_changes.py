"""A user's or key's changed access stops its outstanding tokens: refused here, announced to all."""

import asyncio
import time
from typing import Any

import httpx
from sqlmodel import select

from gateway.config import Settings
from gateway.db import outbox
from kit.auth import Role
from kit.contracts import Envelope
from kit.db import make_engine, make_sessionmaker
from kit.testing import bearer


async def announced(settings: Settings) -> list[dict[str, Any]]:
    """The data of every `identity.access.changed.v1` staged in the gateway's outbox."""
    engine = make_engine(settings.DATABASE_URL)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (await session.exec(select(outbox.c.envelope).order_by(outbox.c.position))).all()
    finally:
        await engine.dispose()
    envelopes = [Envelope.model_validate(row) for row in rows]
    assert {envelope.type for envelope in envelopes} <= {"identity.access.changed.v1"}
    return [envelope.data | {"subject": envelope.subject} for envelope in envelopes]


async def refused_within(
    client: httpx.AsyncClient, headers: dict[str, str], seconds: float = 5.0
) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        answer = await client.get("/api/v1/auth/me", headers=headers)
        if answer.status_code != 200 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.02)


async def test_a_deactivated_users_token_is_refused_within_seconds(serve, accounts) -> None:
    async with serve() as client:
        user = await accounts.create_user(client, "lan")
        token = (await accounts.login(client, "lan")).json()["access_token"]
        before = await client.get("/api/v1/auth/me", headers=accounts.bearer_of(token))

        await client.patch(f"/api/v1/admin/users/{user['id']}", json={"active": False})
        after = await refused_within(client, accounts.bearer_of(token))

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.headers["content-type"] == "application/problem+json"
    assert "access changed" in after.json()["detail"]


async def test_a_token_from_after_the_change_is_accepted(serve, accounts) -> None:
    async with serve() as client:
        user = await accounts.create_user(client, "lan", units=["08707"])
        old = (await accounts.login(client, "lan")).json()["access_token"]
        await client.patch(f"/api/v1/admin/users/{user['id']}", json={"units": ["08710"]})
        new = (await accounts.login(client, "lan")).json()["access_token"]

        refused = await refused_within(client, accounts.bearer_of(old))
        accepted = await client.get("/api/v1/auth/me", headers=accounts.bearer_of(new))

    assert refused.status_code == 401
    assert accepted.status_code == 200
    assert accepted.json()["units"] == ["08710"]


async def test_each_change_of_access_is_announced_with_its_reason(
    serve, accounts, settings: Settings
) -> None:
    async with serve() as client:
        user = await accounts.create_user(client, "lan", units=["08707"])
        url = f"/api/v1/admin/users/{user['id']}"
        for change in (
            {"units": ["08710"]},
            {"role": "enumerator"},
            {"password": "another long passphrase"},
            {"active": False},
            {"active": True},  # nothing to stop: the earlier tokens are refused already
        ):
            answer = await client.patch(url, json=change)
            assert answer.status_code == 200, answer.text

    changes = await announced(settings)

    assert [(change["subject"], change["reason"]) for change in changes] == [
        ("user:lan", "units_changed"),
        ("user:lan", "role_changed"),
        ("user:lan", "password_changed"),
        ("user:lan", "deactivated"),
    ]
    assert all(change["token_subject"] == "user:lan" for change in changes)
    times = [change["not_before"] for change in changes]
    assert times == sorted(times)


async def test_a_revoked_keys_tokens_are_refused_and_announced(serve, settings: Settings) -> None:
    async with serve() as client:
        created = await client.post(
            "/api/v1/admin/api-keys",
            json={"name": "statistics", "role": "ministry_analyst", "units": None},
        )
        subject = f"api-key:{created.json()['id']}"
        minted = bearer(Role.MINISTRY_ANALYST, subject=subject)  # as the gateway mints for it
        before = await client.get("/api/v1/auth/me", headers=minted)

        await client.post(f"/api/v1/admin/api-keys/{created.json()['id']}/revoke")
        after = await refused_within(client, minted)

    assert before.status_code == 200
    assert after.status_code == 401
    [change] = await announced(settings)
    assert (change["token_subject"], change["reason"]) == (subject, "api_key_revoked")
