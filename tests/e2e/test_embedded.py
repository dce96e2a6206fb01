"""The end-to-end scenarios on the embedded default: SQLite and the in-process bus."""

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI, Request
from support import platform_api
from support.platform_api import Api

from households.db import outbox
from households.review.service import today
from households.unit import service as unit_service
from kit.auth import Role
from kit.contracts import Envelope
from kit.db import utc_now
from kit.messaging import OutgoingMessage
from launcher.demo_users import DEMO_USERS, ensure_demo_users
from launcher.embedded import Platform, running_platform, server_config, stopped

pytestmark = pytest.mark.asyncio(loop_scope="module")


class InProcessBroker:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def publish_raw(self, body: bytes, *, type: str, message_id: str) -> None:
        await self.platform.bus.publish(
            OutgoingMessage(
                body=body,
                message_id=message_id,
                type=type,
                correlation_id=None,
                timestamp=utc_now(),
            )
        )

    async def stop(self) -> None:
        self.platform.bus.available = False

    async def start(self) -> None:
        self.platform.bus.available = True

    async def staged_envelopes(self) -> list[Envelope]:
        async with self.platform.households_sessionmaker() as session:
            rows = (await session.exec(outbox.select().order_by(outbox.c.position))).all()
        return [Envelope.model_validate(row.envelope) for row in rows]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    data_dir: Path = tmp_path_factory.mktemp("embedded")
    async with running_platform(data_dir) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def api(platform: Platform) -> AsyncIterator[Api]:
    async with platform.client() as client:
        yield Api(client)


async def test_an_assessment_shows_in_commune_district_and_province(api: Api) -> None:
    await platform_api.an_assessment_shows_in_every_level(api)


async def test_an_approved_commune_is_read_only_and_its_figures_say_so(api: Api) -> None:
    await platform_api.an_approved_commune_is_read_only_and_its_figures_say_so(api)


async def test_duplicated_and_reordered_events_change_nothing(api: Api, platform: Platform) -> None:
    await platform_api.duplicated_and_reordered_events_change_nothing(
        api, InProcessBroker(platform)
    )


async def test_writes_survive_a_bus_outage_and_nothing_is_lost(
    api: Api, platform: Platform
) -> None:
    await platform_api.writes_survive_a_broker_outage(api, InProcessBroker(platform))


async def test_a_poison_message_is_dead_lettered_while_others_flow(
    api: Api, platform: Platform
) -> None:
    await platform_api.a_poison_message_is_dead_lettered_while_others_flow(
        api, InProcessBroker(platform)
    )


async def test_the_gateway_reports_every_service_healthy(api: Api) -> None:
    health = await api.ok(api.client.get("/health"))

    assert health["status"] == "ok"
    assert set(health["services"]) == {"households", "indicators", "notifications"}


async def test_a_household_becoming_poor_reaches_the_commune_inbox(api: Api) -> None:
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-n", "08719")
    await api.survey(household, round_, poor=True)

    async def notified() -> list[dict[str, object]] | None:
        inbox = await api.ok(
            api.client.get("/api/v1/notifications", params={"unit_code": "08719", "unread": "true"})
        )
        return [n for n in inbox["items"] if n["household_id"] == household["id"]] or None

    [notification] = await platform_api.eventually(notified)
    title = str(notification["title"])
    assert title.startswith(f"Household {household['household_code']} in ")
    assert title.endswith(" is poor (hộ nghèo)")


async def test_untrustworthy_tokens_are_refused_at_the_gateway_and_at_each_service(
    platform: Platform,
) -> None:
    async with (
        platform.client(role=None) as gateway,
        platform.service_client("households", role=None) as households,
        platform.service_client("indicators", role=None) as indicators,
        platform.service_client("notifications", role=None) as notifications,
    ):
        await platform_api.untrustworthy_tokens_are_refused(
            platform.signing_key,
            [
                (gateway, "/api/v1/rounds"),
                (gateway, "/api/v1/auth/me"),
                (households, "/api/v1/rounds"),
                (indicators, "/api/v1/standards"),
                (notifications, "/api/v1/notifications"),
            ],
        )


async def test_an_api_key_is_exchanged_for_a_token_and_revocable(
    api: Api, platform: Platform
) -> None:
    async with platform.client(role=None) as anonymous:
        await platform_api.an_api_key_is_exchanged_for_a_token_and_revocable(api, Api(anonymous))


async def test_a_demo_user_logs_in_and_sees_only_its_commune(platform: Platform) -> None:
    await ensure_demo_users(platform.gateway_sessionmaker)
    login = {"grant_type": "password", "username": "commune", "password": "commune-demo"}
    async with platform.client(role=None) as client:
        tokens = await Api(client).ok(client.post("/api/v1/auth/token", data=login))
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = await Api(client).ok(client.get("/api/v1/auth/me", headers=headers))
        elsewhere = await client.post(
            "/api/v1/households",
            json={"household_code": "E2E-SCOPE", "commune_code": "08716", "village": "Thôn 1"},
            headers=headers,
        )

    assert me == {
        "subject": "user:commune",
        "role": "commune_officer",
        "units": ["08707"],
        "permissions": me["permissions"],
    }
    assert "households:write" in me["permissions"]
    assert elsewhere.status_code == 422, elsewhere.text  # a commune of today outside its scope


async def test_the_request_id_follows_the_write_into_its_event(
    api: Api, platform: Platform
) -> None:
    await platform_api.the_request_id_follows_the_write_into_its_event(
        api, InProcessBroker(platform)
    )


async def test_the_embedded_server_leaves_forwarded_headers_to_the_gateway() -> None:
    seen: list[str] = []
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> dict[str, str]:
        seen.append(request.client.host if request.client else "")
        return {}

    listening = socket.create_server(("127.0.0.1", 0))  # queues the request until uvicorn runs
    port = listening.getsockname()[1]
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/who", headers={"x-forwarded-for": "1.2.3.4"})
    finally:
        server.should_exit = True
        await serving

    assert seen == ["127.0.0.1"]


async def test_a_deactivated_users_token_is_refused_everywhere_within_seconds(
    api: Api, platform: Platform
) -> None:
    async with (
        platform.client(role=None) as gateway,
        platform.service_client("households", role=None) as households,
        platform.service_client("indicators", role=None) as indicators,
        platform.service_client("notifications", role=None) as notifications,
    ):
        await platform_api.a_deactivated_users_token_is_refused_everywhere_within_seconds(
            api,
            [
                (gateway, "/api/v1/auth/me"),
                (gateway, "/api/v1/rounds"),
                (households, "/api/v1/rounds"),
                (indicators, "/api/v1/standards"),
                (notifications, "/api/v1/notifications"),
            ],
        )


async def test_stopping_the_demo_waits_for_its_transaction_when_ctrl_c_cancels_the_caller() -> None:
    rolled_back = asyncio.Event()

    async def demo_load() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.05)  # the transaction's rollback, a round trip to the database
            rolled_back.set()

    demo = asyncio.create_task(demo_load())
    await asyncio.sleep(0)
    shutdown = asyncio.create_task(stopped(demo))
    await asyncio.sleep(0)
    shutdown.cancel()  # uvicorn raises the Ctrl-C again, which cancels the shutdown too

    with pytest.raises(asyncio.CancelledError):
        await shutdown
    assert rolled_back.is_set()  # before the databases close


async def test_every_demo_user_is_scoped_to_units_in_force_today_at_its_level(
    platform: Platform,
) -> None:
    level = {Role.PROVINCE_OFFICER: "province", Role.COMMUNE_OFFICER: "commune"}
    level[Role.ENUMERATOR] = "commune"
    async with platform.households_sessionmaker() as session:
        for demo in DEMO_USERS:
            for code in demo.units or ():
                unit = await unit_service.get(session, code, on=today())

                assert unit is not None, (demo.username, code)
                assert unit.level == level[demo.role], (demo.username, code)
                assert demo.covers == f"{code} {unit.name}"
