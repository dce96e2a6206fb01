"""Subscriptions, personal inboxes, signed webhooks with retries, e-mail and reminders, through the
service's API, its consumer and its delivery worker, against real local receivers."""

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiosmtpd.controller import Controller
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks.webhooks import Webhook

from bench.webhook_receiver import Receiver, free_port, running_receiver
from kit import runner, testing
from kit.auth import Role
from kit.contracts import AccessChange, AccessChangedV1, Envelope, Event
from kit.contracts.households import (
    Device,
    ProvinceApprovedV1,
    ReviewState,
    ReviewStepChangedV1,
    SupportGiven,
    SupportKind,
    SupportRecordedV1,
)
from kit.contracts.indicators import (
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    HouseholdLeftBehindV1,
    VersionedClassChange,
)
from kit.db import make_engine, make_sessionmaker, utc_now
from kit.messaging import EventConsumer, IncomingMessage, InProcessBus, OutgoingMessage
from kit.messaging.topology import NOTIFICATIONS_QUEUE
from kit.testing import bearer, trusted_test_keys
from notifications.config import Settings
from notifications.delivery import service as delivery_service
from notifications.delivery.models import Delivery
from notifications.delivery.worker import DeliveryWorker
from notifications.handlers import consumer
from notifications.main import create_app
from notifications.models import metadata
from notifications.reminders import service as reminder_service
from notifications.webhooks.addresses import forbidden_reason, networks

ROUND = UUID("00000000-0000-4000-8000-000000000003")
PROVINCE = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:province")
ANALYST = bearer(Role.MINISTRY_ANALYST, subject="api-key:ministry")


def incoming(event: Event, *, sequence: int = 1) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="test", subject=f"s-{uuid4()}", sequence=sequence)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def approved(province: str = "25") -> ProvinceApprovedV1:
    return ProvinceApprovedV1(
        round_id=ROUND, province_code=province, communes=36, actor="user:admin", at=utc_now()
    )


def class_changed(commune: str = "08770", household_code: str = "25-0042") -> Any:
    return HouseholdClassChangedV1(
        household_id=uuid4(),
        household_code=household_code,
        round_id=ROUND,
        standard_id="VN-2022-2025",
        commune_code=commune,
        unit_path=["25", commune],
        previous_class="near_poor",
        new_class="poor",
        deprivation_count=4,
    )


@dataclass
class Service:
    client: httpx.AsyncClient
    handle: EventConsumer
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    worker: DeliveryWorker

    async def subscribe(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/subscriptions", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def deliveries(self) -> list[Delivery]:
        async with self.sessionmaker() as session:
            return list((await session.exec(select(Delivery))).all())


async def _service(url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[Service]:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    settings = Settings(
        DATABASE_URL=url,
        LOG_JSON=False,
        EMAIL_FOLDER=str(tmp_path / "mail"),
        WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"],
        WEBHOOK_RETRY_INITIAL_SECONDS=0,
        WEBHOOK_READ_TIMEOUT_SECONDS=2,
        **overrides,
    )
    app = create_app(settings, bus=InProcessBus(), engine=engine, token_keys=trusted_test_keys())
    sessionmaker = make_sessionmaker(engine)
    worker = DeliveryWorker(sessionmaker, settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://notifications"
        ) as client,
    ):
        yield Service(client, consumer(sessionmaker), sessionmaker, settings, worker)
    await worker.aclose()
    await engine.dispose()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    async for running in _service(f"sqlite+aiosqlite:///{tmp_path / 'n.db'}", tmp_path):
        yield running


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


# --- bad input -----------------------------------------------------------------------------------


async def test_an_unknown_event_type_is_refused_with_the_known_ones(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/subscriptions",
        json={"event_types": ["households.nothing.v9"], "channels": ["inbox"], "unit_code": "25"},
        headers=PROVINCE,
    )

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "event_types"]
    assert "households.nothing.v9" in error["msg"]
    assert "households.review.province_approved.v1" in error["msg"]
    assert "reminder.posting_period_ends" in error["msg"]
    assert "identity.access.changed.v1" not in error["msg"]  # for admins only


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.org/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://127.0.0.2:8080/x", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.1.2.3/x", "private"),
        ("http://[::1]/x", "loopback"),
        ("http://[::ffff:192.168.1.1]/x", "private"),
        ("http://0.0.0.0/x", "unspecified"),
        ("http://224.0.0.1/x", "multicast"),
        ("http://[fe80::1]/x", "link-local"),
        ("http://user:pw@93.184.215.14/x", "credentials"),
        ("https://hooks.example.org/" + "a" * 2000, "longer than 2000"),
    ],
)
async def test_a_webhook_url_that_may_not_be_called_is_refused_naming_why(
    service: Service, url: str, why: str
) -> None:
    response = await service.client.post(
        "/api/v1/subscriptions",
        json={
            "event_types": ["households.review.province_approved.v1"],
            "channels": ["webhook"],
            "unit_code": "25",
            "webhook_url": url,
        },
        headers=PROVINCE,
    )

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "webhook_url"]
    assert why in error["msg"]


def test_an_admin_allow_list_lets_a_private_network_through() -> None:
    from ipaddress import ip_address

    allowed = networks(["10.20.0.0/16"])
    assert forbidden_reason(ip_address("10.20.3.4"), allowed) is None
    assert forbidden_reason(ip_address("10.21.3.4"), allowed) == "a private address"
    assert forbidden_reason(ip_address("93.184.215.14"), []) is None


async def test_an_unparseable_email_address_is_refused(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/subscriptions",
        json={"event_types": [approved().TYPE], "channels": ["email"], "email": "lan@@x"},
        headers=bearer(Role.ADMIN),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "email"]


async def test_a_subscription_never_covers_more_than_the_callers_scope(service: Service) -> None:
    body = {"event_types": [approved().TYPE], "channels": ["inbox"]}
    whole_country = await service.client.post("/api/v1/subscriptions", json=body, headers=PROVINCE)
    other_province = await service.client.post(
        "/api/v1/subscriptions", json=body | {"unit_code": "01"}, headers=PROVINCE
    )
    # A commune of Phú Thọ, known from an event that named it with its path.
    await service.handle(incoming(class_changed(commune="08770")))
    commune = await service.client.post(
        "/api/v1/subscriptions", json=body | {"unit_code": "08770"}, headers=PROVINCE
    )

    assert whole_country.status_code == 422
    assert whole_country.json()["errors"][0]["loc"] == ["body", "unit_code"]
    assert other_province.status_code == 404
    assert commune.status_code == 201


async def test_a_retried_subscription_with_its_idempotency_key_is_created_once(
    service: Service,
) -> None:
    body = {"event_types": [approved().TYPE], "channels": ["inbox"], "unit_code": "25"}
    key = {"Idempotency-Key": "a3c1f0e2-5b7d-4e69-8c24-9f1d6b0e7a53"}
    first = await service.client.post("/api/v1/subscriptions", json=body, headers=PROVINCE | key)
    retried = await service.client.post("/api/v1/subscriptions", json=body, headers=PROVINCE | key)
    listed = await service.client.get("/api/v1/subscriptions", headers=PROVINCE)

    assert first.status_code == retried.status_code == 201
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == first.json()["id"]
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]


# --- inbox ---------------------------------------------------------------------------------------


async def test_each_subscriber_has_an_inbox_of_its_own_with_its_own_read_state(
    service: Service,
) -> None:
    officer_a = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:a")
    officer_b = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:b")
    body = {"event_types": [approved().TYPE], "channels": ["inbox"], "unit_code": "25"}
    await service.subscribe(officer_a, **body)
    await service.subscribe(officer_b, **body)
    message = incoming(approved())
    await service.handle(message)
    await service.handle(message)  # redelivered: still once
    await service.handle(incoming(approved(province="01")))  # elsewhere: not for them

    inbox_a = (await service.client.get("/api/v1/inbox", headers=officer_a)).json()
    [item] = inbox_a["items"]
    read = await service.client.post(f"/api/v1/inbox/{item['id']}/read", headers=officer_a)
    by_b = await service.client.post(f"/api/v1/inbox/{item['id']}/read", headers=officer_b)
    inbox_b = (await service.client.get("/api/v1/inbox", headers=officer_b)).json()

    assert item["event_type"] == "households.review.province_approved.v1"
    assert item["title"] == "Tỉnh đã phê duyệt kết quả rà soát"
    assert read.json()["read_at"] is not None
    assert by_b.status_code == 404
    assert (inbox_b["total"], inbox_b["unread"]) == (1, 1)


async def test_a_later_event_type_is_accepted_without_code_changes(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typing import ClassVar

    import kit.contracts

    class TargetOffTrackV1(Event):
        """Published by indicators when a unit's rate goes off its target."""

        TYPE: ClassVar[str] = "indicators.target.off_track.v1"
        unit_path: list[str]
        poverty_rate: float

    monkeypatch.setitem(kit.contracts.EVENT_TYPES, TargetOffTrackV1.TYPE, TargetOffTrackV1)
    monkeypatch.setattr(kit.contracts, "PUBLISHED", (*kit.contracts.PUBLISHED, TargetOffTrackV1))
    await service.subscribe(
        PROVINCE,
        event_types=[TargetOffTrackV1.TYPE],
        channels=["inbox"],
        unit_code="25",
        threshold={"field": "poverty_rate", "at_least": 0.05},
    )
    handle = consumer(service.sessionmaker)  # built as the worker builds it, at start
    await handle(incoming(TargetOffTrackV1(unit_path=["25", "08770"], poverty_rate=0.04)))
    await handle(incoming(TargetOffTrackV1(unit_path=["25", "08770"], poverty_rate=0.07)))

    inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
    assert [item["data"]["poverty_rate"] for item in inbox["items"]] == [0.07]


# --- webhooks ------------------------------------------------------------------------------------


async def test_a_webhook_arrives_signed_and_a_standard_webhooks_library_verifies_it(
    service: Service, receiver: Receiver
) -> None:
    created = await service.subscribe(
        PROVINCE,
        event_types=[approved().TYPE],
        channels=["webhook"],
        unit_code="25",
        webhook_url=receiver.url(),
    )
    await service.handle(incoming(approved()))
    assert await service.worker.drain() == 1

    [request] = receiver.received
    payload = Webhook(created["webhook_secret"]).verify(request.body, request.headers)
    assert payload["type"] == "households.review.province_approved.v1"
    assert payload["data"]["province_code"] == "25"
    assert "actor" not in payload["data"]  # who approved is no business of a province officer
    shown_again = (
        await service.client.get(f"/api/v1/subscriptions/{created['id']}", headers=PROVINCE)
    ).json()
    assert "webhook_secret" not in shown_again


async def test_a_rotated_secret_keeps_the_old_one_signing_during_the_overlap(
    service: Service, receiver: Receiver
) -> None:
    created = await service.subscribe(
        PROVINCE, event_types=[approved().TYPE], channels=["webhook"], unit_code="25",
        webhook_url=receiver.url(),
    )  # fmt: skip
    rotated = await service.client.post(
        f"/api/v1/subscriptions/{created['id']}/secret", headers=PROVINCE
    )
    await service.handle(incoming(approved()))
    await service.worker.drain()

    [request] = receiver.received
    new_secret = rotated.json()["webhook_secret"]
    assert new_secret != created["webhook_secret"]
    for secret in (created["webhook_secret"], new_secret):
        Webhook(secret).verify(request.body, request.headers)


async def test_a_failing_receiver_is_retried_on_a_persisted_schedule_then_disabled(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses["/hook"] = 500
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    async for service in _service(
        url, tmp_path, WEBHOOK_MAX_ATTEMPTS=2, WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES=2
    ):
        created = await service.subscribe(
            PROVINCE, event_types=[approved().TYPE], channels=["webhook", "inbox"],
            unit_code="25", webhook_url=receiver.url(),
        )  # fmt: skip
        for _ in range(2):
            await service.handle(incoming(approved()))
        for _ in range(4):  # two attempts each, the retries due at once (initial wait 0)
            await service.worker.drain()
            await asyncio.sleep(0.05)

        deliveries = await service.deliveries()
        assert {d.status for d in deliveries} == {"failed"}
        assert all(d.attempts == 2 for d in deliveries)
        detail = (
            await service.client.get(
                f"/api/v1/subscriptions/{created['id']}/deliveries/{deliveries[0].id}",
                headers=PROVINCE,
            )
        ).json()
        assert [a["status_code"] for a in detail["attempts_log"]] == [500, 500]
        assert detail["attempts_log"][0]["response_excerpt"] == "thanks"
        subscription = (
            await service.client.get(f"/api/v1/subscriptions/{created['id']}", headers=PROVINCE)
        ).json()
        assert subscription["webhook_enabled"] is False
        inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
        assert any(item["event_type"] == "notice.subscription" for item in inbox["items"])
        assert len(receiver.received) == 4

        # Fixed: enabled again and one delivery sent again on demand.
        receiver.statuses["/hook"] = 200
        await service.client.patch(
            f"/api/v1/subscriptions/{created['id']}", json={"webhook_enabled": True},
            headers=PROVINCE,
        )  # fmt: skip
        again = await service.client.post(
            f"/api/v1/subscriptions/{created['id']}/deliveries/{deliveries[0].id}/redeliver",
            headers=PROVINCE,
        )
        assert again.status_code == 202
        await service.worker.drain()
        assert receiver.received[-1].headers["webhook-id"] == f"msg_{deliveries[0].id.hex}"


async def test_a_delivery_that_failed_all_its_attempts_is_told_to_its_owner_and_admins(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses["/hook"] = 500
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    admin = bearer(Role.ADMIN, subject="user:ops")
    other = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:other")
    async for service in _service(url, tmp_path, WEBHOOK_MAX_ATTEMPTS=2):
        failing = await service.subscribe(
            PROVINCE, event_types=[approved().TYPE], channels=["webhook"], unit_code="25",
            webhook_url=receiver.url(),
        )  # fmt: skip
        # The integrator wants to know on a channel that works, and by a webhook that fails too:
        # that notice failing in turn must not raise another.
        await service.subscribe(
            PROVINCE, event_types=["deadletter.delivery"], channels=["inbox", "webhook"],
            unit_code="25", webhook_url=receiver.url(),
        )  # fmt: skip
        await service.subscribe(admin, event_types=["deadletter.delivery"], channels=["inbox"])
        await service.subscribe(
            other, event_types=["deadletter.delivery"], channels=["inbox"], unit_code="25"
        )
        await service.handle(incoming(approved()))
        for _ in range(6):  # two attempts each, the retries due at once (initial wait 0)
            await service.worker.drain()
            await asyncio.sleep(0.05)

        [notice] = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()["items"]
        [for_ops] = (await service.client.get("/api/v1/inbox", headers=admin)).json()["items"]
        others = (await service.client.get("/api/v1/inbox", headers=other)).json()["items"]
        deliveries = await service.deliveries()

    assert notice["event_type"] == "deadletter.delivery"
    assert notice["data"]["subscription_id"] == failing["id"]
    assert notice["data"]["event_type"] == approved().TYPE
    assert (notice["data"]["attempts"], notice["data"]["last_error"]) == (2, "answered 500")
    assert for_ops["data"]["delivery_id"] == notice["data"]["delivery_id"]
    assert for_ops["data"]["owner_subject"] == "user:province"
    assert others == []  # another user's deliveries are none of theirs
    # The event's delivery and the notice's webhook both failed; nothing more was raised.
    assert sorted(d.event_type for d in deliveries) == [
        "deadletter.delivery",
        approved().TYPE,
    ]
    assert {d.status for d in deliveries} == {"failed"}


async def test_dead_letters_of_the_bus_are_told_to_admins_once_per_rise(
    any_database: str, tmp_path: Path
) -> None:
    from kit.messaging import PoisonMessage
    from kit.messaging.topology import INDICATORS_QUEUE
    from notifications.deadletters import service as dead_letters

    bus = InProcessBus(queues=[INDICATORS_QUEUE])

    async def refuse(message: IncomingMessage) -> None:
        raise PoisonMessage("cannot be applied")

    await bus.consume(INDICATORS_QUEUE, refuse)
    admin = bearer(Role.ADMIN, subject="user:ops")
    try:
        async for service in _service(any_database, tmp_path):
            refused = await service.client.post(
                "/api/v1/subscriptions", headers=PROVINCE,
                json={"event_types": ["deadletter.message"], "channels": ["inbox"],
                      "unit_code": "25"},
            )  # fmt: skip
            await service.subscribe(admin, event_types=["deadletter.message"], channels=["inbox"])

            async def dead_lettered(count: int) -> None:
                for _ in range(count):
                    envelope = Envelope.wrap(approved(), producer="t", subject="s", sequence=1)
                    await bus.publish(OutgoingMessage.from_envelope(envelope))
                await asyncio.wait_for(bus.drained(), timeout=10)

            async def told(service: Service = service) -> list[tuple[int, int]]:
                inbox = (await service.client.get("/api/v1/inbox", headers=admin)).json()
                return sorted(
                    (i["data"]["dead_letters"], i["data"]["new_dead_letters"])
                    for i in inbox["items"]
                )

            await dead_lettered(2)
            # Two workers look at once: the rise is told once.
            await asyncio.gather(
                *(dead_letters.watch(service.sessionmaker, bus, [INDICATORS_QUEUE]) for _ in "ab")
            )
            await dead_letters.watch(service.sessionmaker, bus, [INDICATORS_QUEUE])
            after_two = await told()
            await bus.replay_dead_letters(INDICATORS_QUEUE)  # refused again at once
            await asyncio.wait_for(bus.drained(), timeout=10)
            await dead_lettered(1)
            await dead_letters.watch(service.sessionmaker, bus, [INDICATORS_QUEUE])
            finally_told = await told()
            [item, *_] = (await service.client.get("/api/v1/inbox", headers=admin)).json()["items"]
    finally:
        await bus.close()

    assert refused.status_code == 422
    assert after_two == [(2, 2)]
    # Replayed and dead-lettered again (the count unchanged at a look: nothing new), then one more.
    assert finally_told == [(2, 2), (3, 1)]
    assert item["data"]["queue"] == "indicators.events"
    assert item["data"]["read_at"] == "/api/v1/admin/indicators/dead-letters"
    assert item["data"]["dead_letters"] == 3


def test_the_retry_schedule_grows_exponentially_with_jitter_over_hours() -> None:
    settings = Settings()
    delays = [
        delivery_service.retry_delay(
            attempt,
            initial=settings.WEBHOOK_RETRY_INITIAL_SECONDS,
            maximum=settings.WEBHOOK_RETRY_MAX_SECONDS,
        )
        for attempt in range(1, settings.WEBHOOK_MAX_ATTEMPTS)
    ]
    assert 30 <= delays[0] <= 60
    assert all(later > earlier for earlier, later in itertools.pairwise(delays[:6]))
    assert max(delays) <= settings.WEBHOOK_RETRY_MAX_SECONDS
    assert 3 * 3600 < sum(delays) < 8 * 3600


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
        return
    testing.require_infra()
    url = await testing.create_database("notifications_test")
    yield url
    await testing.drop_database(url)


async def test_a_delivery_claimed_by_a_worker_that_died_is_sent_once_more_with_the_same_id(
    any_database: str, tmp_path: Path, receiver: Receiver
) -> None:
    async for service in _service(any_database, tmp_path, DELIVERY_LEASE_SECONDS=0.2):
        await service.subscribe(
            PROVINCE, event_types=[approved().TYPE], channels=["webhook"], unit_code="25",
            webhook_url=receiver.url(),
        )  # fmt: skip
        message = incoming(approved())
        await service.handle(message)
        await service.handle(message)
        # A worker claims it and dies before sending: nothing else may take it meanwhile.
        [claim] = await delivery_service.claim_due(
            service.sessionmaker, limit=10, lease_seconds=0.2
        )
        assert (
            await delivery_service.claim_due(service.sessionmaker, limit=10, lease_seconds=0.2)
            == []
        )
        await asyncio.sleep(0.3)
        assert await service.worker.drain() == 1
        # The first worker comes back and tries to record its attempt: its lease is gone.
        status = await delivery_service.finish(
            service.sessionmaker, claim, succeeded=True, started_at=utc_now(), latency_ms=1,
            policy=delivery_service.RetryPolicy(3, 0, 0, 3),
        )  # fmt: skip

        [request] = receiver.received
        assert request.headers["webhook-id"] == f"msg_{claim.delivery.id.hex}"
        assert status == "sending"  # refused: the takeover's outcome stands
        [delivery] = await service.deliveries()
        assert (delivery.status, delivery.attempts) == ("delivered", 2)


async def test_a_hanging_receiver_does_not_hold_up_the_others(
    service: Service, receiver: Receiver
) -> None:
    receiver.hanging.add("/slow")
    for path in ("/slow", "/a", "/b"):
        await service.subscribe(
            bearer(Role.ADMIN, subject=f"user:{path}"), event_types=[approved().TYPE],
            channels=["webhook"], webhook_url=receiver.url(path),
        )  # fmt: skip
    await service.handle(incoming(approved()))
    await service.worker.top_up()
    for _ in range(100):
        if len(receiver.received) == 2:
            break
        await asyncio.sleep(0.02)

    assert sorted(r.path for r in receiver.received) == ["/a", "/b"]


async def test_a_hanging_endpoint_holds_no_more_than_its_share_of_the_slots(
    any_database: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.hanging.add("/slow")
    async for service in _service(
        any_database, tmp_path, DELIVERY_CONCURRENCY=8, DELIVERY_CONCURRENCY_PER_ENDPOINT=2
    ):
        slow, _ = [
            await service.subscribe(
                bearer(Role.ADMIN, subject=f"user:{path}"), event_types=[approved().TYPE],
                channels=["webhook"], webhook_url=receiver.url(path),
            )
            for path in ("/slow", "/a")
        ]  # fmt: skip
        for _ in range(6):
            await service.handle(incoming(approved()))
        for _ in range(100):
            await service.worker.top_up()
            if len(receiver.received) == 6:
                break
            await asyncio.sleep(0.02)

        assert [r.path for r in receiver.received] == ["/a"] * 6
        slow_ones = [d for d in await service.deliveries() if str(d.subscription_id) == slow["id"]]
        # Two in flight; the others handed back untried (no attempt counted), due as before.
        assert sorted((d.status, d.attempts) for d in slow_ones) == (
            [("pending", 0)] * 4 + [("sending", 1)] * 2
        )


# --- e-mail --------------------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


async def test_an_email_goes_through_a_real_smtp_server_in_the_recipients_language(
    tmp_path: Path, smtp_server: Any
) -> None:
    controller, mailbox = smtp_server
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
    async for service in _service(
        url, tmp_path, EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port, SMTP_SECURITY="none",
    ):  # fmt: skip
        created = await service.subscribe(
            PROVINCE, event_types=[approved().TYPE], channels=["email"], unit_code="25",
            email="lan.nguyen@phutho.gov.vn", language="en",
        )  # fmt: skip
        await service.handle(incoming(approved()))
        await service.worker.drain()

        [mail] = mailbox.messages
        assert mail["To"] == "lan.nguyen@phutho.gov.vn"
        assert mail["Subject"] == "[Poverty review] A province approved the round"
        text = mail.get_body(("plain",))
        html = mail.get_body(("html",))
        assert text is not None
        assert html is not None
        assert "province_code: 25" in text.get_content()
        assert "<h2>A province approved the round</h2>" in html.get_content()
        link = mail["List-Unsubscribe"].strip("<>")
        token = link.split("token=")[1]
        page = await service.client.get("/api/v1/unsubscribe", params={"token": token})
        done = await service.client.post("/api/v1/unsubscribe", params={"token": token})
        forged = await service.client.post(
            "/api/v1/unsubscribe", params={"token": token[:-2] + "xx"}
        )
        subscription = (
            await service.client.get(f"/api/v1/subscriptions/{created['id']}", headers=PROVINCE)
        ).json()
        assert page.status_code == 200
        assert "<form" in page.text
        assert done.json()["unsubscribed"] is True
        assert forged.status_code == 422
        assert subscription["channels"] == []


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as a mail server of one's own would have."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_an_email_goes_over_starttls_with_the_credentials_of_the_settings(
    tmp_path: Path,
) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_file, key_file = await asyncio.to_thread(_self_signed, tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        assert isinstance(auth, LoginPassword)
        logins.append((auth.login, auth.password))
        return AuthResult(success=auth.password == b"s3cret-pass")

    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=free_port(), tls_context=server_tls,
        require_starttls=True, authenticator=authenticator, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        url = f"sqlite+aiosqlite:///{tmp_path / 'n.db'}"
        async for service in _service(
            url, tmp_path, EMAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port,
            SMTP_SECURITY="starttls", SMTP_USERNAME="platform", SMTP_PASSWORD="s3cret-pass",
            SMTP_CA_FILE=str(cert_file),
        ):  # fmt: skip
            await service.subscribe(
                PROVINCE, event_types=[approved().TYPE], channels=["email"], unit_code="25",
                email="lan@phutho.gov.vn",
            )  # fmt: skip
            await service.handle(incoming(approved()))
            await service.worker.drain()
    finally:
        controller.stop()

    assert logins == [(b"platform", b"s3cret-pass")]
    [mail] = mailbox.messages
    assert mail["Subject"] == "[Rà soát hộ nghèo] Tỉnh đã phê duyệt kết quả rà soát"


async def test_a_daily_digest_groups_the_days_events_into_one_email_once(
    service: Service,
) -> None:
    await service.subscribe(
        PROVINCE, event_types=[approved().TYPE], channels=["email"], unit_code="25",
        email="lan@phutho.gov.vn", digest="daily",
    )  # fmt: skip
    for _ in range(3):
        await service.handle(incoming(approved()))
    assert await service.worker.drain() == 0  # held for the digest
    tomorrow = utc_now() + timedelta(days=1, hours=12)
    for _ in range(2):  # two schedulers (two workers) at once: one digest
        await delivery_service.schedule_digests(service.sessionmaker, digest_hour=0, now=tomorrow)
    await service.worker.drain()

    [mail] = await asyncio.to_thread(
        lambda: list(Path(service.settings.EMAIL_FOLDER).glob("*.eml"))
    )
    parsed = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert parsed["Subject"].startswith("[Rà soát hộ nghèo] Tin tổng hợp ngày")
    body = parsed.get_body(("plain",))
    assert body is not None
    assert "3 sự kiện" in body.get_content()


# --- reminders, access, personal data -----------------------------------------------------------


async def test_reminders_reach_each_subscriber_once_per_occasion_with_several_workers(
    any_database: str, tmp_path: Path
) -> None:
    async for service in _service(any_database, tmp_path):
        await _reminders_once(service)


async def _reminders_once(service: Service) -> None:
    await service.subscribe(
        PROVINCE, event_types=["reminder.periodic_review_opens", "reminder.posting_period_ends"],
        channels=["inbox"], unit_code="25",
    )  # fmt: skip
    posted_at = datetime(2026, 8, 20, 3, tzinfo=UTC)
    step = ReviewStepChangedV1(
        round_id=ROUND, commune_code="08770", province_code="25", unit_path=["25", "08770"],
        from_state=ReviewState.surveyed, to_state=ReviewState.posted, actor="user:c",
        at=posted_at, version=3,
    )  # fmt: skip
    await service.handle(incoming(step, sequence=3))
    morning = datetime(2026, 8, 25, 2, tzinfo=UTC)  # 25 Aug: 7 days before 1 Sep; posting ends
    await asyncio.gather(
        *(reminder_service.send_due(service.sessionmaker, now=morning) for _ in range(3))
    )
    await reminder_service.send_due(service.sessionmaker, now=morning + timedelta(hours=5))

    inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
    kinds = sorted((item["event_type"], item["data"]["days_before"]) for item in inbox["items"])
    # The posting (7 days from 20 August) ends on the 26th: the day before is reminded.
    assert kinds == [("reminder.periodic_review_opens", 7), ("reminder.posting_period_ends", 1)]
    on_the_day = datetime(2026, 8, 26, 2, tzinfo=UTC)
    await reminder_service.send_due(service.sessionmaker, now=on_the_day)
    inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
    assert inbox["total"] == 3


async def test_the_end_of_a_posting_is_the_last_day_the_commune_set_not_a_fixed_length(
    service: Service,
) -> None:
    await service.subscribe(
        PROVINCE, event_types=["reminder.posting_period_ends"], channels=["inbox"], unit_code="25"
    )
    step = ReviewStepChangedV1(
        round_id=ROUND, commune_code="08770", province_code="25", unit_path=["25", "08770"],
        from_state=ReviewState.surveyed, to_state=ReviewState.posted, actor="user:c",
        at=datetime(2026, 8, 20, 3, tzinfo=UTC), version=3,
        posting_from=date(2026, 8, 21), posting_until=date(2026, 9, 4),  # 15 days
    )  # fmt: skip
    await service.handle(incoming(step, sequence=3))

    async def reminded() -> list[tuple[str, int]]:
        inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
        return [(i["data"]["occasion_on"], i["data"]["days_before"]) for i in inbox["items"]]

    # Seven days after the posting began, where a fixed week would have ended it: nothing yet.
    await reminder_service.send_due(service.sessionmaker, now=datetime(2026, 8, 27, 2, tzinfo=UTC))
    assert await reminded() == []
    await reminder_service.send_due(service.sessionmaker, now=datetime(2026, 9, 3, 2, tzinfo=UTC))
    await reminder_service.send_due(service.sessionmaker, now=datetime(2026, 9, 4, 2, tzinfo=UTC))
    assert sorted(await reminded()) == [("2026-09-04", 0), ("2026-09-04", 1)]


def left_behind(commune: str, household_code: str) -> HouseholdLeftBehindV1:
    return HouseholdLeftBehindV1(
        household_id=uuid4(), household_code=household_code, round_id=ROUND,
        standard_id="VN-2022-2025", commune_code=commune, commune_name=None,
        unit_path=["25", commune], deprived_indicators=["telecom_use"],
        waiting_since=date(2026, 11, 5), reason="no_support_since_survey",
    )  # fmt: skip


def support(commune: str, household_code: str) -> SupportGiven:
    return SupportGiven(
        support_id=uuid4(), household_id=uuid4(), household_code=household_code,
        commune_code=commune, unit_path=["25", commune], kind=SupportKind.device_given,
        device=Device.smartphone, given_on=date(2026, 11, 20), team_id=uuid4(), member_id=uuid4(),
    )  # fmt: skip


async def published_on_the_bus(service: Service, *events: Event) -> None:
    """Publish on a bus the service's consumer consumes, and wait until each is handled."""
    bus = InProcessBus(queues=[NOTIFICATIONS_QUEUE])  # the other services' queues are not here
    await runner.consume(service.settings, bus, NOTIFICATIONS_QUEUE, service.handle)
    try:
        for event in events:
            envelope = Envelope.wrap(event, producer="test", subject=str(uuid4()), sequence=1)
            await bus.publish(OutgoingMessage.from_envelope(envelope))
        await asyncio.wait_for(bus.drained(), timeout=10)
        assert bus.unsettled() == set()  # handled and acknowledged, none dead-lettered
        assert await bus.queue_depth(NOTIFICATIONS_QUEUE) == (0, 0)
    finally:
        await bus.close()


async def test_a_left_behind_household_reaches_its_communes_subscribers_on_every_channel(
    service: Service, receiver: Receiver
) -> None:
    team = bearer(Role.COMMUNE_OFFICER, ("08770",), subject="user:digital-team-08770")
    elsewhere = bearer(Role.COMMUNE_OFFICER, ("08771",), subject="user:digital-team-08771")
    for headers in (team, elsewhere):
        await service.subscribe(
            headers, event_types=[HouseholdLeftBehindV1.TYPE],
            channels=["inbox", "webhook", "email"],
            unit_code="08770" if headers is team else "08771", email="team@vinhyen.gov.vn",
            language="en", webhook_url=receiver.url("/team" if headers is team else "/other"),
        )  # fmt: skip
    await service.subscribe(ANALYST, event_types=[HouseholdLeftBehindV1.TYPE], channels=["inbox"])

    await published_on_the_bus(service, left_behind("08770", "VY-0420"))
    await service.worker.drain()

    inbox = (await service.client.get("/api/v1/inbox", headers=team)).json()
    [item] = inbox["items"]
    assert item["event_type"] == "indicators.household.left_behind.v1"
    assert item["data"]["household_code"] == "VY-0420"  # the team is there to visit it
    assert [r.path for r in receiver.received] == ["/team"]
    assert json.loads(receiver.received[0].body)["data"]["deprived_indicators"] == ["telecom_use"]
    [mail] = await asyncio.to_thread(
        lambda: list(Path(service.settings.EMAIL_FOLDER).glob("*.eml"))
    )
    assert "left behind in digital inclusion" in mail.read_text()
    other = (await service.client.get("/api/v1/inbox", headers=elsewhere)).json()
    assert other["items"] == []
    [aggregate] = (await service.client.get("/api/v1/inbox", headers=ANALYST)).json()["items"]
    assert "household_code" not in aggregate["data"]
    assert aggregate["data"]["commune_code"] == "08770"


async def test_a_batch_of_support_records_reaches_each_subscriber_with_its_units_records_only(
    service: Service,
) -> None:
    team = bearer(Role.COMMUNE_OFFICER, ("08770",), subject="user:digital-team-08770")
    province = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:province-25")
    await service.subscribe(
        team, event_types=[SupportRecordedV1.TYPE], channels=["inbox"], unit_code="08770"
    )
    # A province officer's subscription to one commune of the province (known to the service from
    # an earlier event naming it): that commune's records only.
    await service.handle(incoming(class_changed(commune="08771")))
    await service.subscribe(
        province, event_types=[SupportRecordedV1.TYPE], channels=["inbox"], unit_code="08771"
    )
    batch = SupportRecordedV1(records=[support("08770", "VY-0001"), support("08771", "VY-0002")])

    await published_on_the_bus(service, batch)

    [team_item] = (await service.client.get("/api/v1/inbox", headers=team)).json()["items"]
    [province_item] = (await service.client.get("/api/v1/inbox", headers=province)).json()["items"]
    assert [r["household_code"] for r in team_item["data"]["records"]] == ["VY-0001"]
    assert [r["household_code"] for r in province_item["data"]["records"]] == ["VY-0002"]


async def test_a_batch_of_class_changes_reaches_each_subscriber_with_its_units_changes_only(
    service: Service,
) -> None:
    team = bearer(Role.COMMUNE_OFFICER, ("08770",), subject="user:commune-08770")
    province = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:province-25")
    await service.subscribe(
        team, event_types=[HouseholdClassesChangedV1.TYPE], channels=["inbox"], unit_code="08770"
    )
    batch = HouseholdClassesChangedV1(
        changes=[
            VersionedClassChange(sequence=1, change=class_changed("08770", "VY-0001")),
            VersionedClassChange(sequence=1, change=class_changed("08771", "VY-0002")),
        ]
    )

    await published_on_the_bus(service, batch)
    # Commune 08771 was named by the batch only: known now, so it can be subscribed to.
    await service.subscribe(
        province,
        event_types=[HouseholdClassesChangedV1.TYPE],
        channels=["inbox"],
        unit_code="08771",
    )
    await published_on_the_bus(service, batch)

    [team_item, _] = (await service.client.get("/api/v1/inbox", headers=team)).json()["items"]
    [province_item] = (await service.client.get("/api/v1/inbox", headers=province)).json()["items"]
    assert [c["change"]["household_code"] for c in team_item["data"]["changes"]] == ["VY-0001"]
    assert [c["change"]["household_code"] for c in province_item["data"]["changes"]] == ["VY-0002"]


async def test_a_change_of_access_suspends_delivery_until_confirmed_within_the_new_scope(
    service: Service,
) -> None:
    created = await service.subscribe(
        PROVINCE, event_types=[approved().TYPE], channels=["inbox"], unit_code="25"
    )
    change = AccessChangedV1(
        token_subject="user:province", reason=AccessChange.units_changed, not_before=utc_now()
    )
    await service.handle(incoming(change))
    await service.handle(incoming(approved()))
    narrowed = bearer(Role.PROVINCE_OFFICER, ("01",), subject="user:province")
    refused = await service.client.post(
        f"/api/v1/subscriptions/{created['id']}/resume", headers=narrowed
    )
    resumed = await service.client.post(
        f"/api/v1/subscriptions/{created['id']}/resume", headers=PROVINCE
    )
    await service.handle(incoming(approved()))

    inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
    assert [i["event_type"] for i in inbox["items"]].count(approved().TYPE) == 1
    assert any(i["event_type"] == "notice.subscription" for i in inbox["items"])
    assert refused.status_code == 404
    assert resumed.json()["status"] == "active"


async def test_a_change_of_access_in_a_batch_suspends_only_for_the_events_after_it(
    service: Service,
) -> None:
    await service.subscribe(
        PROVINCE, event_types=[approved().TYPE], channels=["inbox"], unit_code="25"
    )
    change = AccessChangedV1(
        token_subject="user:province", reason=AccessChange.units_changed, not_before=utc_now()
    )

    outcomes = await service.handle.handle_batch(
        [incoming(approved()), incoming(change), incoming(approved())]
    )

    assert outcomes == [None, None, None]
    inbox = (await service.client.get("/api/v1/inbox", headers=PROVINCE)).json()
    assert [i["event_type"] for i in inbox["items"]].count(approved().TYPE) == 1


async def test_events_delivered_together_reach_each_subscriber_as_one_at_a_time(
    service: Service,
) -> None:
    commune = bearer(Role.COMMUNE_OFFICER, ("08771",), subject="user:commune")
    changes = [class_changed().TYPE, HouseholdClassesChangedV1.TYPE]
    await service.subscribe(
        PROVINCE, event_types=[*changes, approved().TYPE], channels=["inbox"], unit_code="25"
    )
    await service.subscribe(ANALYST, event_types=changes, channels=["inbox"])
    await service.subscribe(commune, event_types=changes, channels=["inbox"], unit_code="08771")
    events: list[Event] = [
        class_changed(commune="08770"),
        approved("25"),
        class_changed(commune="08771", household_code="25-0007"),
        approved("26"),  # of another province: the province officer's subscription is for 25
        HouseholdClassesChangedV1(
            changes=[
                VersionedClassChange(sequence=1, change=class_changed("08770", "25-0100")),
                VersionedClassChange(sequence=2, change=class_changed("08771", "25-0101")),
            ]
        ),
    ]
    alone = [incoming(event) for event in events]
    together = [incoming(event) for event in events]

    for message in alone:
        await service.handle(message)
    outcomes = await service.handle.handle_batch(together)

    assert outcomes == [None] * len(events)
    received = await _inbox_rows(service)
    by_alone = [received.get(UUID(m.message_id), []) for m in alone]
    by_together = [received.get(UUID(m.message_id), []) for m in together]
    assert by_together == by_alone
    assert [len(rows) for rows in by_alone] == [2, 1, 3, 0, 3]  # analyst, province, commune


async def _inbox_rows(service: Service) -> dict[UUID, list[tuple[str, str | None, str, str]]]:
    """Each event's inbox items: (owner, unit, title, body), in a stable order."""
    from notifications.inbox.models import InboxItem

    rows: dict[UUID, list[tuple[str, str | None, str, str]]] = {}
    async with service.sessionmaker() as session:
        for item in (await session.exec(select(InboxItem))).all():
            rows.setdefault(item.event_id, []).append(
                (item.owner_subject, item.unit_code, item.title, item.body)
            )
    return {event_id: sorted(items) for event_id, items in rows.items()}


async def test_aggregate_roles_get_no_household_identifiers_on_any_channel(
    service: Service, receiver: Receiver
) -> None:
    await service.subscribe(
        ANALYST, event_types=[class_changed().TYPE], channels=["inbox", "webhook", "email"],
        email="analyst@molisa.gov.vn", webhook_url=receiver.url(),
    )  # fmt: skip
    await service.handle(incoming(class_changed(household_code="CANARY-HH-77")))
    await service.worker.drain()

    inbox = (await service.client.get("/api/v1/inbox", headers=ANALYST)).text
    [request] = receiver.received
    [mail] = await asyncio.to_thread(
        lambda: list(Path(service.settings.EMAIL_FOLDER).glob("*.eml"))
    )
    for channel, text in (("inbox", inbox), ("webhook", request.body.decode()),
                          ("email", mail.read_text()), ):  # fmt: skip
        assert "CANARY-HH-77" not in text, channel
        assert "household_id" not in text, channel
    assert json.loads(request.body)["data"]["new_class"] == "poor"


async def test_subscriptions_are_their_owners_alone(service: Service) -> None:
    created = await service.subscribe(
        PROVINCE, event_types=[approved().TYPE], channels=["inbox"], unit_code="25"
    )
    other = bearer(Role.PROVINCE_OFFICER, ("25",), subject="user:other")

    seen = await service.client.get(f"/api/v1/subscriptions/{created['id']}", headers=other)
    deleted = await service.client.delete(f"/api/v1/subscriptions/{created['id']}", headers=other)
    listed = (await service.client.get("/api/v1/subscriptions", headers=other)).json()

    assert (seen.status_code, deleted.status_code, listed["items"]) == (404, 404, [])


async def test_the_reminder_calendar_is_data() -> None:
    from notifications.reminders.calendar import calendar

    occasions = {o.type: o for o in calendar().occasions}
    assert (
        occasions["reminder.periodic_review_opens"].month,
        occasions["reminder.periodic_review_opens"].day,
    ) == (9, 1)
    assert (
        occasions["reminder.periodic_review_ends"].month,
        occasions["reminder.periodic_review_ends"].day,
    ) == (12, 14)
    assert occasions["reminder.regular_review"].monthly_day == 15
    assert occasions["reminder.regular_review"].dates_near(date(2026, 1, 14)) == [date(2026, 1, 15)]


def test_a_batch_about_many_units_keeps_only_the_subscribers_units() -> None:
    from notifications.delivery.content import within_scope

    batch = {
        "source": "import",
        "assessments": [
            {"sequence": 1, "assessment": {"commune_code": "08770", "unit_path": ["25", "08770"]}},
            {"sequence": 1, "assessment": {"commune_code": "00004", "unit_path": ["01", "00004"]}},
        ],
    }

    kept, concerned = within_scope(batch, ("25",))
    elsewhere, concerned_elsewhere = within_scope(batch, ("79",))

    assert [a["assessment"]["commune_code"] for a in kept["assessments"]] == ["08770"]
    assert concerned is True
    assert (elsewhere["assessments"], concerned_elsewhere) == ([], False)
    assert within_scope({"round_id": "r"}, ("25",)) == ({"round_id": "r"}, True)
