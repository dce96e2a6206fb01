"""The end-to-end scenarios on the embedded default: SQLite and the in-process bus."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from support import platform_api
from support.platform_api import Api

from households.db import outbox
from kit.contracts import Envelope
from kit.db import utc_now
from kit.messaging import OutgoingMessage
from launcher.embedded import Platform, running_platform

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


async def test_the_request_id_follows_the_write_into_its_event(
    api: Api, platform: Platform
) -> None:
    await platform_api.the_request_id_follows_the_write_into_its_event(
        api, InProcessBroker(platform)
    )
