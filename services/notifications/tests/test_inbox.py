"""The in-app inbox: fed by class changes, read and marked read through the API."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple
from uuid import UUID, uuid4

import httpx
import pytest
from asgi_lifespan import LifespanManager

from kit import testing
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.indicators import (
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    VersionedClassChange,
)
from kit.db import make_engine, make_sessionmaker
from kit.messaging import EventConsumer, IncomingMessage, InProcessBus
from kit.testing import bearer, trusted_test_keys
from notifications.config import Settings
from notifications.handlers import consumer
from notifications.main import create_app
from notifications.models import metadata

ROUND = UUID("00000000-0000-4000-8000-000000000003")


def class_changed(
    new: str,
    previous: str | None = None,
    *,
    commune: str = "08707",
    district: str | None = "243",
    household_code: str = "H-1",
) -> IncomingMessage:
    return incoming(change(new, previous, commune=commune, district=district, code=household_code))


def classes_changed(*changes: HouseholdClassChangedV1) -> IncomingMessage:
    """A batch message of the changes (a bulk import's batch, as indicators announces it)."""
    return incoming(
        HouseholdClassesChangedV1(
            changes=[VersionedClassChange(sequence=1, change=change) for change in changes]
        )
    )


def change(
    new: str,
    previous: str | None = None,
    *,
    commune: str = "08707",
    district: str | None = "243",
    code: str = "H-1",
) -> HouseholdClassChangedV1:
    return HouseholdClassChangedV1(
        household_id=uuid4(),
        household_code=code,
        round_id=ROUND,
        standard_id="VN-2022-2025",
        commune_code=commune,
        commune_name="Phường Tích Sơn",
        # A commune of the two-level map (from July 2025) has no district in its path.
        unit_path=["26", district, commune] if district else ["25", commune],
        previous_class=previous,
        new_class=new,
        deprivation_count=3,
    )


def incoming(event: Event) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="indicators", subject="s", sequence=1)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


class Inbox(NamedTuple):
    client: httpx.AsyncClient
    handle: EventConsumer


@pytest.fixture(params=["sqlite", "postgresql"])
async def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Inbox]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'notifications.db'}"
    else:
        testing.require_infra()
        url = await testing.create_database("notifications_test")
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    app = create_app(
        Settings(DATABASE_URL=url, LOG_JSON=False),
        bus=InProcessBus(),
        engine=engine,
        token_keys=trusted_test_keys(),
    )
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app),
            base_url="http://notifications",
            headers=bearer(Role.ADMIN),
        ) as client,
    ):
        yield Inbox(client, consumer(make_sessionmaker(engine)))
    await engine.dispose()
    if request.param == "postgresql":
        await testing.drop_database(url)


async def test_a_household_becoming_poor_notifies_its_commune(inbox: Inbox) -> None:
    client, handle = inbox
    await handle(class_changed("poor", "near_poor", household_code="26-0042"))

    body = (await client.get("/api/v1/notifications", params={"unit_code": "08707"})).json()

    [notification] = body["items"]
    assert notification["title"] == "Household 26-0042 in Phường Tích Sơn became poor (hộ nghèo)"
    assert notification["commune_code"] == "08707"
    assert notification["read_at"] is None


async def test_a_redelivered_event_notifies_once(inbox: Inbox) -> None:
    client, handle = inbox
    incoming = class_changed("poor")
    await handle(incoming)
    await handle(incoming)

    assert (await client.get("/api/v1/notifications")).json()["total"] == 1


async def test_a_batch_of_changes_notifies_as_its_single_events_would_once(
    inbox: Inbox,
) -> None:
    client, handle = inbox
    message = classes_changed(
        change("poor", code="26-0001"),
        change("not_poor", code="26-0002"),  # never touches poverty: no notification
        change("near_poor", "poor", commune="08710", code="26-0003"),
    )
    await handle(message)
    await handle(message)  # redelivered

    body = (await client.get("/api/v1/notifications")).json()

    assert sorted(item["title"] for item in body["items"]) == [
        "Household 26-0001 in Phường Tích Sơn is poor (hộ nghèo)",
        "Household 26-0003 in Phường Tích Sơn became near-poor (hộ cận nghèo)",
    ]
    assert {item["commune_code"] for item in body["items"]} == {"08707", "08710"}


async def test_changes_that_never_touch_poverty_are_not_notified(inbox: Inbox) -> None:
    client, handle = inbox
    await handle(class_changed("not_poor"))
    await handle(class_changed("average", "not_poor"))
    await handle(class_changed("not_poor", "near_poor"))  # leaving near-poverty is news

    assert (await client.get("/api/v1/notifications")).json()["total"] == 1


async def test_the_inbox_filters_by_unit_and_unread_and_marks_read(inbox: Inbox) -> None:
    client, handle = inbox
    await handle(class_changed("poor", commune="08707"))
    await handle(class_changed("near_poor", commune="08710"))
    await handle(class_changed("poor", commune="08773", district="244"))

    in_district = (await client.get("/api/v1/notifications", params={"unit_code": "243"})).json()
    assert {n["commune_code"] for n in in_district["items"]} == {"08707", "08710"}

    first = in_district["items"][0]["id"]
    marked = await client.post(f"/api/v1/notifications/{first}/read")
    assert marked.json()["read_at"] is not None
    unread = (await client.get("/api/v1/notifications", params={"unread": "true"})).json()
    assert first not in {n["id"] for n in unread["items"]}
    assert unread["total"] == 2

    all_read = await client.post("/api/v1/notifications/read", params={"unit_code": "26"})
    assert all_read.json() == {"marked": 2}
    assert (await client.get("/api/v1/notifications", params={"unread": "true"})).json()[
        "total"
    ] == 0


async def test_marking_an_unknown_notification_is_a_problem_404(inbox: Inbox) -> None:
    client, _ = inbox
    response = await client.post(f"/api/v1/notifications/{uuid4()}/read")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_officer_sees_and_marks_only_its_units_notifications(inbox: Inbox) -> None:
    client, handle = inbox
    await handle(class_changed("poor", household_code="ours"))
    await handle(class_changed("poor", commune="08764", district="246", household_code="theirs"))
    theirs = (await client.get("/api/v1/notifications", params={"unit_code": "08764"})).json()
    officer = bearer(Role.COMMUNE_OFFICER, ("08707",))

    listed = (await client.get("/api/v1/notifications", headers=officer)).json()
    marked_theirs = await client.post(
        f"/api/v1/notifications/{theirs['items'][0]['id']}/read",
        headers=officer,
    )
    marked_all = (await client.post("/api/v1/notifications/read", headers=officer)).json()

    assert [n["commune_code"] for n in listed["items"]] == ["08707"]
    assert marked_theirs.status_code == 404
    assert marked_all == {"marked": 1}
    unread = (await client.get("/api/v1/notifications", params={"unread": True})).json()
    assert [n["commune_code"] for n in unread["items"]] == ["08764"]


async def test_an_analyst_has_no_inbox(inbox: Inbox) -> None:
    client, _ = inbox

    response = await client.get("/api/v1/notifications", headers=bearer(Role.MINISTRY_ANALYST))

    assert response.status_code == 403


async def test_a_commune_of_the_two_level_map_is_notified_without_a_district(
    inbox: Inbox,
) -> None:
    client, handle = inbox
    await handle(class_changed("poor", commune="08770", district=None))

    listed = (await client.get("/api/v1/notifications", params={"unit_code": "25"})).json()
    [notification] = listed["items"]
    assert (notification["province_code"], notification["commune_code"]) == ("25", "08770")
    assert notification["district_code"] == ""
    by_commune = (await client.get("/api/v1/notifications", params={"unit_code": "08770"})).json()
    assert by_commune["total"] == 1
