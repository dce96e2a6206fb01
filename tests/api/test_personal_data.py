"""No personal data leaves the households service in logs, messages or notifications.

Canary values (a name, an address, a national ID number, a birth date) go in through the public
API, on paths that succeed and paths that fail; then every log line the platform wrote, every
message it published and everything a subscriber to every event type received (inbox, webhook,
e-mail) is searched for them. An aggregate role's notifications do not even name the household.
"""

import asyncio
import json
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from support import platform_api

from bench.webhook_receiver import Receiver, running_receiver
from kit.auth import Role
from kit.messaging import OutgoingMessage
from launcher.embedded import Platform, running_platform
from notifications.delivery.models import Delivery, DeliveryStatus
from notifications.subscription.event_types import ADMIN_ONLY_PREFIXES, known

CANARIES = {
    "head_name": "Canaryhead Zqxv",
    "address": "Số 7 Canarystreet Zqxv",
    "full_name": "Canarymember Zqxv",
    "national_id": "079912345678",
    "birth_date": "1961-07-23",
}


def canary_member(**overrides: Any) -> dict[str, Any]:
    return (
        platform_api.member(
            1, head=True, born=CANARIES["birth_date"], national_id=CANARIES["national_id"]
        )
        | {"full_name": CANARIES["full_name"]}
        | overrides
    )


async def test_canaries_appear_in_no_log_line_and_no_message(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")  # the most any operator could turn on
    published: list[OutgoingMessage] = []
    async with (
        running_receiver() as receiver,
        running_platform(
            tmp_path, notifications_overrides={"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"]}
        ) as platform,
    ):
        await _subscribe_to_everything(platform, receiver)
        publish = platform.bus.publish

        async def recording(message: OutgoingMessage) -> None:
            published.append(message)
            await publish(message)

        monkeypatch.setattr(platform.bus, "publish", recording)
        async with platform.client() as admin:
            api = platform_api.Api(admin)
            round_ = await api.open_round()
            household = await api.ok(
                admin.post(
                    "/api/v1/households",
                    json={
                        "household_code": "CANARY-1",
                        "commune_code": "08764",
                        "village": "Thôn 1",
                        "head_name": CANARIES["head_name"],
                        "address": CANARIES["address"],
                    },
                ),
                201,
            )
            survey = platform_api.assessment(poor=True) | {"members": [canary_member()]}
            await api.ok(
                admin.put(
                    f"/api/v1/households/{household['id']}/assessments/{round_['id']}", json=survey
                ),
                201,
            )
            # A refusal that holds the canaries (invalid input), and the ID number in a second
            # household: recorded, with a conflict for supervisors.
            other = await api.register("CANARY-2", "08764")
            invalid = survey | {"members": [canary_member(birth_date="2999-01-01")]}
            taken = survey
            for body, status in ((invalid, 422), (taken, 201)):
                response = await admin.put(
                    f"/api/v1/households/{other['id']}/assessments/{round_['id']}", json=body
                )
                assert response.status_code == status, response.text
            await admin.get("/api/v1/households", params={"unit_code": "08764"})
            await platform.settled()
            # A survey's event delivered again: the consumer logs that it skipped it.
            [recorded] = [m for m in published if m.type == "households.assessment.recorded.v1"][:1]
            await publish(recorded)
            await platform.settled()
            # Who is behind the transitions (docs/transitions.md): households, never people.
            later = await api.open_round()
            await platform.settled()
            behind = await api.ok(
                admin.get(
                    f"/api/v1/transitions/{round_['id']}/{later['id']}/08764/households",
                    params={"table": "poor"},
                )
            )
            drill_down = json.dumps(behind, ensure_ascii=False)
        notified = await _notifications(platform, receiver, tmp_path / "mail")

    assert "CANARY-1" in drill_down  # the search ran over a real answer
    for field, canary in CANARIES.items():
        assert canary not in drill_down, f"{field} in the transitions drill-down"
    logs = "".join(capfd.readouterr())
    messages = [message.body.decode() for message in published]
    assert "households.assessment.recorded.v1" in {message.type for message in published}
    # The search ran over real output: the messages are the household's, the logs are there.
    assert any("CANARY-1" in body for body in messages)
    assert "message.duplicate_skipped" in logs
    for field, canary in CANARIES.items():
        assert canary not in logs, f"{field} in the logs"
        for body in messages:
            assert canary not in body, f"{field} in a message"

    # Every channel of a subscriber to every event type, an admin's and an aggregate role's.
    for (role, channel), texts in notified.items():
        assert texts, f"{role} received nothing by {channel}: the search would prove nothing"
        for text in texts:
            for field, canary in CANARIES.items():
                assert canary not in text, f"{field} in a {channel} notification of {role}"
            if role == Role.MINISTRY_ANALYST:
                assert "CANARY-1" not in text, f"the household in the analyst's {channel}"
    assert any("CANARY-1" in text for text in notified[(Role.ADMIN, "webhook")])


SUBSCRIBERS = {Role.ADMIN: "user:canary-admin", Role.MINISTRY_ANALYST: "api-key:canary-analyst"}


async def _subscribe_to_everything(platform: Platform, receiver: Receiver) -> None:
    for role, subject in SUBSCRIBERS.items():
        async with platform.client(role, subject=subject) as client:
            types = [
                t for t in known() if role == Role.ADMIN or not t.startswith(ADMIN_ONLY_PREFIXES)
            ]
            response = await client.post(
                "/api/v1/subscriptions",
                json={
                    "event_types": types,
                    "channels": ["inbox", "webhook", "email"],
                    "email": f"{role.value}@canary.example.org",
                    "webhook_url": receiver.url(f"/{role.value}"),
                },
            )
            assert response.status_code == 201, response.text


async def _notifications(
    platform: Platform, receiver: Receiver, mail: Path
) -> dict[tuple[Role, str], list[str]]:
    """What each subscriber received on each channel, once the deliveries are done."""

    def emails() -> list[str]:
        # Decoded: the parts travel as base64 or quoted-printable, where a canary would hide.
        texts = []
        for path in sorted(mail.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
            texts.append(str(message["To"]) + "\n" + "\n".join(parts))
        return texts

    async def outstanding() -> int:
        async with platform.notifications_sessionmaker() as session:
            statement = select(func.count()).where(
                col(Delivery.status).in_([DeliveryStatus.pending, DeliveryStatus.sending])
            )
            return int((await session.exec(statement)).one())

    # Every delivery sent (the receiver answers them all), however many the seeded units' events
    # queue before the household's: one endpoint has only a few of them in flight at a time.
    for _ in range(600):
        if not await outstanding() and len(await asyncio.to_thread(emails)) >= 2:
            break
        await asyncio.sleep(0.05)
    notified: dict[tuple[Role, str], list[str]] = {}
    every_mail = await asyncio.to_thread(emails)
    for role, subject in SUBSCRIBERS.items():
        async with platform.client(role, subject=subject) as client:
            inbox = await client.get("/api/v1/inbox", params={"limit": 500})
        notified[(role, "inbox")] = [inbox.text]
        notified[(role, "webhook")] = [
            r.body.decode() for r in receiver.received if r.path == f"/{role.value}"
        ]
        notified[(role, "email")] = [m for m in every_mail if f"{role.value}@canary" in m]
    return notified
