"""The issue's "done when", on the embedded default as `make run` starts it: the demo's province
officer logs in, subscribes by e-mail and webhook; an admin's change raises an event in the
province; the e-mail lands in the data folder and a local receiver verifies the webhook's
signature with a Standard Webhooks library."""

import asyncio
from email import message_from_bytes, policy
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from bench.webhook_receiver import running_receiver
from launcher.demo_users import ensure_demo_users
from launcher.embedded import running_platform


async def _mail(folder: Path) -> list[Path]:
    return await asyncio.to_thread(lambda: sorted(folder.glob("*.eml")))


async def test_a_province_officer_gets_an_email_in_the_folder_and_a_verifiable_webhook(
    tmp_path: Path,
) -> None:
    async with (
        running_receiver() as receiver,
        running_platform(
            tmp_path, notifications_overrides={"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"]}
        ) as platform,
    ):
        await ensure_demo_users(platform.gateway_sessionmaker)
        async with platform.client(role=None) as anonymous:
            login = await anonymous.post(
                "/api/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "province",
                    "password": "province-demo",
                },
            )
            token = login.json()["access_token"]
            officer = {"Authorization": f"Bearer {token}"}
            created = await anonymous.post(
                "/api/v1/subscriptions",
                headers=officer,
                json={
                    "event_types": ["households.household.registered.v1"],
                    "unit_code": "25",
                    "channels": ["email", "webhook", "inbox"],
                    "email": "province.officer@phutho.gov.vn",
                    "language": "vi",
                    "webhook_url": receiver.url("/poverty-review"),
                },
            )
            assert created.status_code == 201, created.text
            secret = created.json()["webhook_secret"]
        async with platform.client() as admin:
            registered = await admin.post(
                "/api/v1/households",
                json={"household_code": "DONE-WHEN-1", "commune_code": "08707", "village": "Tổ 1"},
            )
            assert registered.status_code == 201, registered.text
        await platform.settled()
        mail_folder = tmp_path / "mail"
        for _ in range(200):  # the delivery worker polls every 0.2 s
            if receiver.received and await _mail(mail_folder):
                break
            await asyncio.sleep(0.05)

        [request] = receiver.received
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "households.household.registered.v1"
        assert payload["data"]["unit_path"] == ["25", "08707"]
        [eml] = await _mail(mail_folder)
        mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert mail["To"] == "province.officer@phutho.gov.vn"
        assert mail["Subject"].startswith("[Rà soát hộ nghèo]")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=platform.gateway), base_url="http://gateway"
        ) as client:
            inbox = (await client.get("/api/v1/inbox", headers=officer)).json()
        assert inbox["unread"] == 1
