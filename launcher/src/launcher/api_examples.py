"""The OpenAPI document's request and response examples, recorded from a real platform.

    python -m launcher.api_examples --write

starts the embedded platform on a temporary folder with a small demo (Vĩnh Phúc's synthetic
households, carried onto Phú Thọ's map), makes every call of the API once — the requests below
are the request examples — and writes what each answered into `gateway/src/gateway/
api_examples.json`, keyed by operation id. The gateway puts them into the merged document
(`gateway.openapi.add_examples`), so every example is a real answer, and a test validates each
against its schema. Run it when an operation is added or its answer changes, then refresh the
snapshot (`python -m launcher.openapi --write`).

An operation not called here gets an example from another one answering the same schema, or
none (the documentation test then names it): add its call below.
"""

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from gateway.openapi import EXAMPLES_FILE
from launcher.demo_users import ensure_demo_users
from launcher.embedded import Platform, running_platform
from notifications.email import unsubscribe
from synthetic.demo import load_demo

SURVEY = Path(__file__).resolve().parents[3] / "docs" / "examples" / "survey.json"
DEMO_HOUSEHOLDS = 240
COMMUNE = "08707"  # Phường Vĩnh Yên, left open and unsurveyed by the demo
PROVINCE = "25"  # Phú Thọ
ITEMS_KEPT = 2

Json = Any


class Recorder:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.examples: dict[str, dict[str, Any]] = {}

    async def call(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        body: Json = None,
        form: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        response = await (client or self.client).request(
            method, url, json=body, data=form, files=files, params=params, headers=headers
        )
        if not response.is_success:
            sys.stderr.write(f"{operation}: {response.status_code} {response.text[:300]}\n")
            return response
        recorded = self.examples.setdefault(operation, {"responses": {}})
        if body is not None or form is not None:
            recorded["request"] = body if body is not None else form
        if files is not None:
            recorded["request"] = {**(form or {}), **{name: f[0] for name, f in files.items()}}
        json_answer = response.headers.get("content-type", "").startswith("application/json")
        if json_answer and response.content:  # a 204 has no body, whatever its headers say
            recorded["responses"][str(response.status_code)] = _trimmed(response.json())
        return response


def _trimmed(value: Json) -> Json:
    """Long lists cut to their first items: an example shows the shape, not the whole data."""
    if isinstance(value, list):
        return value[:ITEMS_KEPT]
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        return {**value, "items": value["items"][:ITEMS_KEPT]}
    return value


@contextlib.asynccontextmanager
async def platform_with_demo() -> AsyncIterator[Platform]:
    with tempfile.TemporaryDirectory() as folder:
        # The subscriptions' webhook goes to a receiver on this machine (`_webhook_receiver`).
        allowed = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"]}
        async with running_platform(Path(folder), notifications_overrides=allowed) as platform:
            await ensure_demo_users(platform.gateway_sessionmaker)
            await load_demo(platform.households_sessionmaker, households=DEMO_HOUSEHOLDS)
            await platform.settled()
            yield platform


def logged_in(platform: Platform, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.gateway),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {token}"},
    )


async def record(platform: Platform, receiver_url: str) -> dict[str, dict[str, Any]]:
    anonymous = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.gateway), base_url="http://gateway"
    )
    r = Recorder(anonymous)
    await r.call("getHealth", "GET", "/health")
    await r.call("getLiveness", "GET", "/health/live")
    await r.call("getJwks", "GET", "/.well-known/jwks.json")
    login = {"grant_type": "password", "username": "admin", "password": "admin-demo"}
    tokens = (await r.call("issueToken", "POST", "/api/v1/auth/token", form=login)).json()
    admin = logged_in(platform, tokens["access_token"])
    r.client = admin
    await r.call("getMe", "GET", "/api/v1/auth/me")
    commune_login = {"grant_type": "password", "username": "commune", "password": "commune-demo"}
    commune_tokens = (await anonymous.post("/api/v1/auth/token", data=commune_login)).json()
    commune = logged_in(platform, commune_tokens["access_token"])
    await r.call(
        "revokeToken", "POST", "/api/v1/auth/revoke", form={"token": tokens["refresh_token"]}
    )

    # Identity
    user = (
        await r.call(
            "createUser",
            "POST",
            "/api/v1/admin/users",
            body={
                "username": "lan.nguyen",
                "password": "sen hồng nở giữa hè Vĩnh Yên",
                "role": "commune_officer",
                "units": [COMMUNE],
            },
        )
    ).json()
    await r.call("listUsers", "GET", "/api/v1/admin/users", params={"limit": ITEMS_KEPT})
    await r.call("getUser", "GET", f"/api/v1/admin/users/{user['id']}")
    await r.call(
        "changeUser",
        "PATCH",
        f"/api/v1/admin/users/{user['id']}",
        body={"role": "enumerator", "units": [COMMUNE]},
    )
    key = (
        await r.call(
            "createApiKey",
            "POST",
            "/api/v1/admin/api-keys",
            body={
                "name": "Cổng dữ liệu Sở LĐ-TB&XH Phú Thọ",
                "role": "ministry_analyst",
                "units": None,
            },
        )
    ).json()
    await r.call("listApiKeys", "GET", "/api/v1/admin/api-keys", params={"limit": ITEMS_KEPT})
    await r.call("getApiKey", "GET", f"/api/v1/admin/api-keys/{key['id']}")
    await r.call("revokeApiKey", "POST", f"/api/v1/admin/api-keys/{key['id']}/revoke")

    # Units
    await r.call("listUnits", "GET", "/api/v1/units", params={"q": "Vĩnh Yên", "limit": 2})
    await r.call("getUnit", "GET", f"/api/v1/units/{COMMUNE}")
    await r.call("listUnitChildren", "GET", f"/api/v1/units/{PROVINCE}/children")
    await r.call("getUnitPath", "GET", f"/api/v1/units/{COMMUNE}/path")
    predecessors = (
        await r.call("listUnitPredecessors", "GET", f"/api/v1/units/{COMMUNE}/predecessors")
    ).json()
    old = next((p["unit"] for p in predecessors if p["unit"]["code"] != COMMUNE), None)
    if old is not None:
        await r.call(
            "listUnitSuccessors",
            "GET",
            f"/api/v1/units/{old['code']}/successors",
            params={"on": "2024-01-01"},
        )

    subscription = await _subscribe(r, receiver_url)

    # Rounds
    rounds = (await r.call("listRounds", "GET", "/api/v1/rounds", params={"year": 2026})).json()
    round_id = rounds["items"][0]["id"]
    old_round_id = (await admin.get("/api/v1/rounds", params={"year": 2024})).json()["items"][0][
        "id"
    ]
    await r.call("getRound", "GET", f"/api/v1/rounds/{round_id}")
    new_round = (
        await r.call(
            "openRound",
            "POST",
            "/api/v1/rounds",
            body={
                "year": 2025,
                "kind": "periodic",
                "reference_date": "2025-11-01",
                "standard_id": "VN-2022-2025",
                "name": "Rà soát định kỳ 2025",
            },
        )
    ).json()
    await r.call(
        "recordPopulation",
        "PUT",
        f"/api/v1/populations/{new_round['id']}/{COMMUNE}",
        body={"resident_households": 1850, "resident_persons": 6400},
    )
    await r.call(
        "importPopulations",
        "POST",
        f"/api/v1/populations/{new_round['id']}/import",
        body=[
            {"unit_code": COMMUNE, "resident_households": 1852, "resident_persons": 6411},
            {"unit_code": "08716", "resident_households": 2310, "resident_persons": 8075},
        ],
    )
    await r.call(
        "listPopulations",
        "GET",
        f"/api/v1/populations/{new_round['id']}",
        params={"unit_code": PROVINCE},
    )

    # Households and their surveys, by the commune officer
    r.client = commune
    household = (
        await r.call(
            "registerHousehold",
            "POST",
            "/api/v1/households",
            body={
                "household_code": "VY-0420",
                "commune_code": COMMUNE,
                "village": "Tổ dân phố 3",
                "address": "12 ngõ 5 đường Nguyễn Tất Thành",
                "head_name": "Nguyễn Văn An",
            },
        )
    ).json()
    household_url = f"/api/v1/households/{household['id']}"
    read = await r.call("getHousehold", "GET", household_url)
    await r.call(
        "updateHousehold",
        "PATCH",
        household_url,
        body={"village": "Tổ dân phố 4", "address": "7 ngõ 2 đường Lê Xoay"},
        headers={"If-Match": read.headers.get("etag", "")},
    )
    survey = json.loads(SURVEY.read_text(encoding="utf-8"))
    await r.call("recordAssessment", "PUT", f"{household_url}/assessments/{round_id}", body=survey)
    await r.call("getAssessment", "GET", f"{household_url}/assessments/{round_id}")
    await r.call(
        "listHouseholds",
        "GET",
        "/api/v1/households",
        params={"unit_code": COMMUNE, "limit": ITEMS_KEPT},
    )
    await r.call(
        "listAssessments",
        "GET",
        "/api/v1/assessments",
        params={"round_id": round_id, "unit_code": COMMUNE, "limit": ITEMS_KEPT},
    )
    other_id = await _conflict(r, round_id, survey)
    await r.call(
        "listAuditEntries",
        "GET",
        "/api/v1/audit",
        params={"household_id": household["id"], "limit": ITEMS_KEPT},
    )

    # The commune's review
    review = f"/api/v1/rounds/{round_id}/communes/{COMMUNE}"
    await r.call("moveReview", "POST", f"{review}/review/steps", body={"to": "surveyed"})
    await r.call(
        "recordMeeting",
        "POST",
        f"{review}/meetings",
        body={
            "village": "Tổ dân phố 4",
            "held_on": str(date.today() - timedelta(days=12)),
            "attendance": 40,
            "agreements": [
                {"household_id": household["id"], "agreeing": 37},
                {"household_id": other_id, "agreeing": 39},
            ],
        },
    )
    await r.call("listMeetings", "GET", f"{review}/meetings")
    posting_from = date.today() - timedelta(days=10)
    await r.call(
        "moveReview",
        "POST",
        f"{review}/review/steps",
        body={
            "to": "posted",
            "posting_from": str(posting_from),
            "posting_until": str(date.today() - timedelta(days=1)),
        },
    )
    objection = (
        await r.call(
            "lodgeObjection",
            "POST",
            f"{review}/objections",
            body={
                "household_id": household["id"],
                "lodged_on": str(posting_from + timedelta(days=2)),
                "lodged_by": "Trần Văn Bình, Tổ dân phố 4",
                "text": "Gia đình đã có xe máy và ti vi mới, đề nghị xem xét lại.",
            },
        )
    ).json()
    await r.call("listObjections", "GET", f"{review}/objections")
    await r.call(
        "recheckObjection",
        "POST",
        f"{review}/objections/{objection.get('id')}/recheck",
        body={
            "outcome": "rejected",
            "note": "Kiểm tra lại tại hộ: thu nhập và tài sản đúng như phiếu khảo sát.",
        },
    )
    await r.call(
        "moveReview",
        "POST",
        f"{review}/review/steps",
        body={"to": "approved", "note": "Danh sách được UBND phường công nhận"},
    )
    await r.call("getReview", "GET", f"{review}/review")
    r.client = admin
    await r.call(
        "reopenReview",
        "POST",
        f"{review}/review/reopen",
        body={"reason": "Hộ VY-0420 khai thiếu một thành viên; khảo sát lại."},
    )
    approval = f"/api/v1/rounds/{old_round_id}/provinces/26/approval"
    await r.call("getProvinceApproval", "GET", approval)
    await r.call("approveProvince", "POST", approval)

    # Relocations and imports
    await r.call("listRelocations", "GET", "/api/v1/households/relocations", params={"limit": 2})
    await r.call(
        "carryHouseholds", "POST", "/api/v1/households/relocations", body={"unit_code": PROVINCE}
    )
    await _import(r, new_round["id"])

    # Indicators: standards, classes, figures
    await platform.settled()
    await r.call("listStandards", "GET", "/api/v1/standards")
    await r.call("getStandard", "GET", "/api/v1/standards/VN-2022-2025")
    vietnamese = {"Accept-Language": "vi"}  # labels in Vietnamese, as officers read them
    await r.call(
        "getClassification",
        "GET",
        f"/api/v1/classifications/{round_id}/{household['id']}",
        headers=vietnamese,
    )
    await r.call(
        "listClassifications",
        "GET",
        f"/api/v1/classifications/{round_id}",
        params={"unit_code": COMMUNE, "limit": ITEMS_KEPT},
        headers=vietnamese,
    )
    await r.call(
        "getUnitFigures", "GET", f"/api/v1/figures/{round_id}/{PROVINCE}", headers=vietnamese
    )
    await r.call("listChildFigures", "GET", f"/api/v1/figures/{old_round_id}/26/children")
    job = (
        await r.call(
            "requestRecalculation", "POST", "/api/v1/recalculations", body={"round_id": round_id}
        )
    ).json()
    await _until_done(admin, f"/api/v1/recalculations/{job['id']}", "succeeded")
    await r.call("getRecalculation", "GET", f"/api/v1/recalculations/{job['id']}")
    await _analyses(r, old_round_id, round_id)

    # Operations
    await r.call("getRoundLedger", "GET", f"/api/v1/admin/households/rounds/{round_id}/ledger")
    await r.call(
        "reconcileRound",
        "POST",
        "/api/v1/admin/indicators/reconciliations",
        body={"round_id": round_id, "republish": False},
    )
    await r.call(
        "republishRound", "POST", f"/api/v1/admin/households/rounds/{new_round['id']}/republish"
    )
    for service in ("indicators", "notifications"):
        noun = service.capitalize()
        base = f"/api/v1/admin/{service}/dead-letters"
        await r.call(f"list{noun}DeadLetters", "GET", base)
        await r.call(f"replay{noun}DeadLetters", "POST", f"{base}/replay", body={})
    await platform.settled()

    # Notifications
    inbox = (
        await r.call("listNotifications", "GET", "/api/v1/notifications", params={"limit": 2})
    ).json()
    if inbox.get("items"):
        await r.call(
            "markNotificationRead", "POST", f"/api/v1/notifications/{inbox['items'][0]['id']}/read"
        )
    await r.call("markAllRead", "POST", "/api/v1/notifications/read")
    await _subscriptions(r, platform, subscription)
    for client in (anonymous, admin, commune):
        await client.aclose()
    return r.examples


async def _analyses(r: Recorder, old_round_id: str, round_id: str) -> None:
    """What a province reads beyond the figures: the information dimension, reports and
    charts, the transitions from 2024 to 2026, Alkire–Foster, a target and a what-if, all of
    Phú Thọ (25) on today's map, whose 2024 households were Vĩnh Phúc's (26)."""
    figures = f"{round_id}/{PROVINCE}"
    await r.call("getInformation", "GET", f"/api/v1/information/{figures}")
    await r.call("listChildInformation", "GET", f"/api/v1/information/{figures}/children")
    await r.call("informationTrend", "GET", f"/api/v1/information/trend/{PROVINCE}")

    # Files and charts: bytes, checked to answer, not recorded (examples are JSON).
    children = (await r.client.get(f"/api/v1/figures/{figures}/children")).json()["items"]
    commune = children[0]["unit_code"]
    await r.call("getReport", "GET", f"/api/v1/reports/{round_id}/{commune}")
    await r.call(
        "getReport",
        "GET",
        f"/api/v1/reports/{round_id}/{commune}",
        params={"format": "csv", "report": "1"},
    )
    await r.call("getChart", "GET", f"/api/v1/reports/{figures}/charts/rates")
    await r.call(
        "getChart", "GET", f"/api/v1/reports/{figures}/charts/deprivation", params={"format": "png"}
    )
    await r.call("trendChart", "GET", f"/api/v1/reports/charts/trend/{PROVINCE}")
    report = (
        await r.call(
            "requestReport",
            "POST",
            "/api/v1/reports/jobs",
            body={"round_id": round_id, "unit_code": PROVINCE, "lang": "vi", "format": "xlsx"},
        )
    ).json()
    await _until_done(r.client, f"/api/v1/reports/jobs/{report['id']}", "succeeded")
    await r.call("getReportJob", "GET", f"/api/v1/reports/jobs/{report['id']}")
    await r.call("downloadReport", "GET", f"/api/v1/reports/jobs/{report['id']}/file")

    # Transitions (diễn biến) 2024 → 2026, on the 2026 map, and who is behind a row
    between = f"/api/v1/transitions/{old_round_id}/{round_id}/{PROVINCE}"
    await r.call("getTransitions", "GET", between)
    await r.call(
        "listTransitionHouseholds",
        "GET",
        f"{between}/households",
        params={"table": "poor", "row": "other_gone", "limit": ITEMS_KEPT},
    )
    await r.call("getAlkireFoster", "GET", f"/api/v1/alkire-foster/{figures}")

    # A target: 0.7 % poor by the end of 2026, from the 2024 rate of the households now in it
    baseline = (await r.client.get(f"/api/v1/figures/{old_round_id}/26")).json()
    target = (
        await r.call(
            "createTarget",
            "POST",
            "/api/v1/targets",
            body={
                "unit_code": PROVINCE,
                "measure": "poverty_rate",
                "kind": "below_by",
                "value_percent": 0.7,
                "baseline_year": 2024,
                "baseline_percent": baseline["total"]["household_rates"]["poverty_rate_percent"],
                "target_year": 2026,
                "note": "Nghị quyết HĐND tỉnh: tỷ lệ hộ nghèo dưới 0,7 % cuối năm 2026",
            },
        )
    ).json()
    await r.call("listTargets", "GET", "/api/v1/targets", params={"unit_code": PROVINCE})
    await r.call("getTarget", "GET", f"/api/v1/targets/{target['id']}")
    withdrawn = (
        await r.client.post(
            "/api/v1/targets",
            json={
                "unit_code": PROVINCE,
                "kind": "reduction_per_year",
                "value_percent": 1.5,
                "baseline_year": 2024,
                "baseline_percent": 9.0,
                "target_year": 2028,
            },
        )
    ).json()
    await r.call("deleteTarget", "DELETE", f"/api/v1/targets/{withdrawn['id']}")

    # Context series: a public statistic of the province beside its information dimension
    await r.call(
        "importContextSeries",
        "POST",
        "/api/v1/context-series/import",
        body=[
            {
                "unit_code": PROVINCE,
                "year": 2026,
                "series": "smartphone_households",
                "value": 88.0,
                "source_publisher": "Illustrative (API example)",
                "source_title": "Illustrative figures, not official statistics",
                "source_reference": "docs/examples/context-series.csv",
                "source_retrieved_on": "2026-12-01",
                "note": "Illustrative: not a published figure",
            }
        ],
    )
    await r.call("getUnitContext", "GET", f"/api/v1/context-series/{PROVINCE}")

    # What-if: the 2026 round's households under the 2027–2030 income lines (Decree 351/2025)
    what_if = (
        await r.call(
            "requestWhatIf",
            "POST",
            "/api/v1/what-if",
            body={
                "round_id": round_id,
                "base_standard_id": "VN-2022-2025",
                "changes": {
                    "id": "VN-2022-2025-lines-2027",
                    "income_test": {"poverty_line": {"rural": 2_200_000, "urban": 2_800_000}},
                },
            },
        )
    ).json()
    await _until_done(r.client, f"/api/v1/what-if/{what_if['id']}", "succeeded")
    await r.call("getWhatIf", "GET", f"/api/v1/what-if/{what_if['id']}")


@contextlib.asynccontextmanager
async def _webhook_receiver() -> AsyncIterator[str]:
    """A ministry's webhook endpoint on 127.0.0.1 that accepts whatever arrives (204)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
             if line.startswith(b"content-length:")),
            0,
        )  # fmt: skip
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/so-ldtbxh-phu-tho/poverty-review"


async def _subscribe(r: Recorder, receiver_url: str) -> str:
    """A province's data office subscribes to its reviews and targets, before they happen."""
    created = await r.call(
        "createSubscription",
        "POST",
        "/api/v1/subscriptions",
        body={
            "event_types": [
                "households.review.step_changed.v1",
                "households.review.reopened.v1",
                "indicators.target.progress_changed.v1",
            ],
            "unit_code": PROVINCE,
            "channels": ["inbox", "email", "webhook"],
            "digest": "immediate",
            "email": "lan.nguyen@phutho.gov.vn",
            "language": "vi",
            "webhook_url": receiver_url,
            "description": "Cổng dữ liệu Sở LĐ-TB&XH Phú Thọ: rà soát và chỉ tiêu",
        },
    )
    return str(created.json()["id"])


async def _subscriptions(r: Recorder, platform: Platform, subscription_id: str) -> None:
    """The subscription after the review's steps reached it: its deliveries, inbox, changes."""
    await platform.settled()
    url = f"/api/v1/subscriptions/{subscription_id}"
    await r.call("listSubscriptions", "GET", "/api/v1/subscriptions")
    await r.call("getSubscription", "GET", url)
    deliveries = (
        await r.call("listDeliveries", "GET", f"{url}/deliveries", params={"limit": ITEMS_KEPT})
    ).json()
    if deliveries.get("items"):
        delivery = f"{url}/deliveries/{deliveries['items'][0]['id']}"
        await r.call("getDelivery", "GET", delivery)
        await r.call("redeliver", "POST", f"{delivery}/redeliver")
    await r.call("rotateWebhookSecret", "POST", f"{url}/secret")
    await r.call(
        "updateSubscription",
        "PATCH",
        url,
        body={"digest": "daily", "description": "Rà soát và chỉ tiêu: thư tổng hợp hằng ngày"},
    )
    await r.call("resumeSubscription", "POST", f"{url}/resume")
    inbox = (await r.call("listInbox", "GET", "/api/v1/inbox", params={"limit": ITEMS_KEPT})).json()
    if inbox.get("items"):
        await r.call("markInboxItemRead", "POST", f"/api/v1/inbox/{inbox['items'][0]['id']}/read")
    await r.call("markInboxRead", "POST", "/api/v1/inbox/read")
    secret = platform.notifications_settings.UNSUBSCRIBE_SECRET.get_secret_value()
    link = {"token": unsubscribe.token(secret, UUID(subscription_id))}
    await r.call("confirmUnsubscribe", "GET", "/api/v1/unsubscribe", params=link)
    await r.call("unsubscribeEmail", "POST", "/api/v1/unsubscribe", params=link)
    await r.call("deleteSubscription", "DELETE", url)


async def _conflict(r: Recorder, round_id: str, survey: Json) -> str:
    """The same person (by national id) recorded in a second household of the round."""
    other = (
        await r.client.post(
            "/api/v1/households",
            json={"household_code": "VY-0421", "commune_code": COMMUNE, "village": "Tổ dân phố 4"},
        )
    ).json()
    await r.client.put(f"/api/v1/households/{other['id']}/assessments/{round_id}", json=survey)
    conflicts = (
        await r.call(
            "listConflicts",
            "GET",
            "/api/v1/assessments/conflicts",
            params={"round_id": round_id, "limit": ITEMS_KEPT},
        )
    ).json()
    if conflicts.get("items"):
        conflict = conflicts["items"][0]
        kept = conflict["holder"]["household_id"] if "holder" in conflict else other["id"]
        await r.call(
            "resolveConflict",
            "POST",
            f"/api/v1/assessments/conflicts/{conflict['id']}/resolution",
            body={"kept_household_id": kept},
        )
    return str(other["id"])


async def _import(r: Recorder, round_id: str) -> None:
    survey = json.loads(SURVEY.read_text(encoding="utf-8"))
    lines = [
        {
            "household": {
                "household_code": f"VY-05{n:02}",
                "commune_code": COMMUNE,
                "village": "Tổ dân phố 6",
            },
            "assessment": survey | {"members": [dict(survey["members"][0], national_id=None)]},
        }
        for n in range(2)
    ]
    content = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    started = (
        await r.call(
            "startImport",
            "POST",
            "/api/v1/imports",
            form={"round_id": round_id, "format": "jsonl"},
            files={"file": ("ho-gia-dinh-vinh-yen.jsonl", content.encode(), "application/jsonl")},
        )
    ).json()
    if "id" not in started:
        return
    await _until_done(r.client, f"/api/v1/imports/{started['id']}", "completed")
    await r.call("getImport", "GET", f"/api/v1/imports/{started['id']}")
    await r.call("listImports", "GET", "/api/v1/imports", params={"limit": ITEMS_KEPT})


async def _until_done(client: httpx.AsyncClient, url: str, done: str) -> None:
    for _ in range(600):
        status = (await client.get(url)).json().get("status")
        if status in {done, "failed"}:
            return
        await asyncio.sleep(0.1)


def _schemas_of(document: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(operation id, status, JSON schema of the answer as text) of each JSON success answer."""
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation.get("responses", {}).items():
                media = response.get("content", {}).get("application/json")
                if status.startswith("2") and media is not None:
                    schema = json.dumps(media.get("schema"), sort_keys=True)
                    yield operation["operationId"], status, schema


def fill_from_same_schema(examples: dict[str, dict[str, Any]], document: dict[str, Any]) -> None:
    """An operation not recorded takes the recorded answer of another with the same schema."""
    recorded: dict[str, Json] = {}
    for operation, status, schema in _schemas_of(document):
        answer = examples.get(operation, {}).get("responses", {}).get(status)
        if answer is not None:
            recorded.setdefault(schema, answer)
    for operation, status, schema in _schemas_of(document):
        responses = examples.setdefault(operation, {"responses": {}})["responses"]
        if status not in responses and schema in recorded:
            responses[status] = recorded[schema]


async def record_all() -> dict[str, dict[str, Any]]:
    async with platform_with_demo() as platform, _webhook_receiver() as receiver_url:
        examples = await record(platform, receiver_url)
    return examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help=f"write {EXAMPLES_FILE.name}")
    args = parser.parse_args(argv)
    from launcher.openapi import build_document

    examples = asyncio.run(record_all())
    fill_from_same_schema(examples, build_document())
    text = json.dumps(dict(sorted(examples.items())), indent=2, ensure_ascii=False) + "\n"
    if args.write:
        EXAMPLES_FILE.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
