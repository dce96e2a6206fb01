"""Approved data is read-only on every write path, until an admin reopens the review (audited and
published); the province approves once its communes are approved."""

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.config import Settings
from households.db import outbox
from households.imports import service as import_service
from households.imports.limits import Limits
from households.review.models import ReviewStep
from kit.auth import Role
from kit.contracts.households import ReviewState

from .conftest import QUANG_SON, VINH_PHUC, Setter, Surveyor, Walker, review_url, survey_json

READ_ONLY = "is approved: its data is read-only"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"IMPORT_DIR": str(tmp_path / "imports")})


class TestWritesRefusedWhenApproved:
    async def test_a_survey_is_not_replaced(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.approved)
        current = await client.get(household["survey_url"])

        response = await client.put(
            household["survey_url"],
            json=survey_json(income_score_a=90),
            headers={"If-Match": current.headers["etag"]},
        )

        assert response.status_code == 409
        assert f"commune {QUANG_SON} in this round {READ_ONLY}" in response.json()["detail"]
        assert (await client.get(household["survey_url"])).json()["income_score_a"] == 180

    async def test_a_new_survey_is_not_recorded(
        self, client: httpx.AsyncClient, round_id: str, set_state: Setter
    ) -> None:
        await set_state(round_id, QUANG_SON, ReviewState.approved)
        household_in = {"household_code": "LATE-1", "commune_code": QUANG_SON, "village": "Thôn 1"}
        household = (await client.post("/api/v1/households", json=household_in)).json()
        url = f"/api/v1/households/{household['id']}/assessments/{round_id}"

        response = await client.put(url, json=survey_json())

        assert response.status_code == 409
        assert READ_ONLY in response.json()["detail"]
        assert (await client.get(url)).status_code == 404

    async def test_the_communes_population_is_not_set(
        self, client: httpx.AsyncClient, round_id: str, set_state: Setter
    ) -> None:
        await set_state(round_id, QUANG_SON, ReviewState.approved)
        counts = {"resident_households": 40, "resident_persons": 90}

        response = await client.put(f"/api/v1/populations/{round_id}/{QUANG_SON}", json=counts)

        assert response.status_code == 409
        assert READ_ONLY in response.json()["detail"]
        assert (await client.get(f"/api/v1/populations/{round_id}")).json()["total"] == 0

    async def test_the_population_import_writes_no_row(
        self, client: httpx.AsyncClient, round_id: str, set_state: Setter
    ) -> None:
        await set_state(round_id, QUANG_SON, ReviewState.approved)
        rows = [
            {"unit_code": "08707", "resident_households": 10, "resident_persons": 30},
            {"unit_code": QUANG_SON, "resident_households": 40, "resident_persons": 90},
        ]

        response = await client.post(f"/api/v1/populations/{round_id}/import", json=rows)

        assert response.status_code == 409
        assert (await client.get(f"/api/v1/populations/{round_id}")).json()["total"] == 0

    @pytest.mark.parametrize("state", [ReviewState.open, ReviewState.surveyed, ReviewState.posted])
    async def test_before_approval_the_population_is_writable(
        self, client: httpx.AsyncClient, round_id: str, set_state: Setter, state: ReviewState
    ) -> None:
        if state is not ReviewState.open:
            await set_state(round_id, QUANG_SON, state)
        counts = {"resident_households": 40, "resident_persons": 90}

        response = await client.put(f"/api/v1/populations/{round_id}/{QUANG_SON}", json=counts)

        assert response.status_code == 201

    async def test_a_bulk_import_row_of_the_commune_fails_naming_the_state(
        self,
        client: httpx.AsyncClient,
        round_id: str,
        set_state: Setter,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        tmp_path: Path,
    ) -> None:
        await set_state(round_id, QUANG_SON, ReviewState.approved)
        lines = [
            {
                "household": {"household_code": code, "commune_code": commune, "village": "T1"},
                "assessment": survey_json(),
            }
            for code, commune in (("IMPORT-QS", QUANG_SON), ("IMPORT-TS", "08707"))
        ]
        content = "".join(httpx.Response(200, json=line).text + "\n" for line in lines).encode()
        upload = await client.post(
            "/api/v1/imports",
            files={"file": ("households.jsonl", content)},
            data={"round_id": round_id},
        )
        assert upload.status_code == 202, upload.text
        job_id = upload.json()["id"]

        claim = await import_service.claim_next(sessionmaker, lease_seconds=60)
        assert claim is not None
        await import_service.run(
            sessionmaker,
            claim,
            directory=Path(settings.IMPORT_DIR),
            batch_size=10,
            limits=Limits.of(settings),
        )

        job = (await client.get(f"/api/v1/imports/{job_id}")).json()
        report = (await client.get(f"/api/v1/imports/{job_id}/errors.csv")).text
        assert (job["households_imported"], job["households_failed"]) == (1, 1)
        assert "commune_code" in report
        assert READ_ONLY in report
        codes = (await client.get("/api/v1/households")).json()["items"]
        assert [h["household_code"] for h in codes] == ["IMPORT-TS"]


class TestReopening:
    async def test_an_admin_reopens_with_a_reason_audited_published_and_writable_again(
        self,
        client: httpx.AsyncClient,
        round_id: str,
        surveyed: Surveyor,
        walk: Walker,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.approved)
        url = review_url(round_id)

        response = await client.post(
            f"{url}/review/reopen", json={"reason": "A household was scored twice."}
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["version"], body["next_states"]) == ("surveyed", 4, ["posted"])
        last = body["history"][-1]
        assert (last["from_state"], last["to_state"], last["reopened"]) == (
            "approved",
            "surveyed",
            True,
        )
        assert last["note"] == "A household was scored twice."
        async with sessionmaker() as session:
            [entry] = await session.exec(
                select(AuditEntry).where(AuditEntry.action == "review.reopened")
            )
            [envelope] = await session.exec(
                select(outbox.c.envelope).where(outbox.c.type == "households.review.reopened.v1")
            )
        assert entry.actor == "test-admin"
        assert entry.commune_code == QUANG_SON
        assert entry.changes["reason"] == "A household was scored twice."
        assert entry.changes["state"] == {"old": "approved", "new": "surveyed"}
        assert envelope["sequence"] == 4
        assert envelope["subject"] == f"review:{round_id}:{QUANG_SON}"
        assert envelope["data"]["reason"] == "A household was scored twice."
        assert envelope["data"]["province_approval_withdrawn"] is False
        current = await client.get(household["survey_url"])
        rewritten = await client.put(
            household["survey_url"],
            json=survey_json(income_score_a=90),
            headers={"If-Match": current.headers["etag"]},
        )
        assert rewritten.status_code == 200

    @pytest.mark.parametrize("reason", ["", "   "])
    async def test_a_reason_is_required(
        self, client: httpx.AsyncClient, round_id: str, set_state: Setter, reason: str
    ) -> None:
        await set_state(round_id, QUANG_SON, ReviewState.approved)

        response = await client.post(
            f"{review_url(round_id)}/review/reopen", json={"reason": reason}
        )

        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", "reason"]]

    @pytest.mark.parametrize("role", [Role.COMMUNE_OFFICER, Role.PROVINCE_OFFICER])
    async def test_only_an_admin_reopens(
        self, as_role: Any, round_id: str, set_state: Setter, role: Role
    ) -> None:
        await set_state(round_id, QUANG_SON, ReviewState.approved)
        caller = as_role(role, QUANG_SON if role is Role.COMMUNE_OFFICER else VINH_PHUC)

        response = await caller.post(f"{review_url(round_id)}/review/reopen", json={"reason": "x"})

        assert response.status_code == 403

    @pytest.mark.parametrize("state", [ReviewState.surveyed, ReviewState.posted])
    async def test_only_an_approved_review_is_reopened(
        self,
        client: httpx.AsyncClient,
        round_id: str,
        set_state: Setter,
        state: ReviewState,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await set_state(round_id, QUANG_SON, state)

        response = await client.post(f"{review_url(round_id)}/review/reopen", json={"reason": "x"})

        assert response.status_code == 409
        assert f"is {state.value}" in response.json()["detail"]
        async with sessionmaker() as session:
            assert (await session.exec(select(col(ReviewStep.id)))).all() == []


class TestProvinceApproval:
    async def test_a_periodic_round_needs_every_commune_of_the_province(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        await surveyed()
        await walk(ReviewState.approved)

        response = await client.post(f"/api/v1/rounds/{round_id}/provinces/{VINH_PHUC}/approval")
        status = await client.get(f"/api/v1/rounds/{round_id}/provinces/{VINH_PHUC}/approval")

        assert response.status_code == 409
        communes = status.json()["communes"]
        assert len(communes) > 100
        assert {"commune_code": QUANG_SON, "state": "approved"} in communes
        assert f"{len(communes) - 1} of the {len(communes)} communes" in response.json()["detail"]
        assert status.json()["approved"] is False

    async def test_a_regular_round_needs_its_surveyed_communes_and_a_reopening_withdraws_it(
        self,
        client: httpx.AsyncClient,
        as_role: Any,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        round_in = {
            "year": 2024,
            "kind": "regular",
            "reference_date": "2024-11-15",
            "standard_id": "VN-2022-2025",
        }
        round_id = (await client.post("/api/v1/rounds", json=round_in)).json()["id"]
        household_in = {"household_code": "REG-1", "commune_code": QUANG_SON, "village": "T1"}
        household = (await client.post("/api/v1/households", json=household_in)).json()
        url = f"/api/v1/households/{household['id']}/assessments/{round_id}"
        assert (await client.put(url, json=survey_json())).status_code == 201
        province = as_role(Role.PROVINCE_OFFICER, VINH_PHUC, subject="province-26")
        approval = f"/api/v1/rounds/{round_id}/provinces/{VINH_PHUC}/approval"
        commune = review_url(round_id)

        early = await province.post(approval)
        for body in (
            {"to": "surveyed"},
            None,
            {"to": "posted", "posting_from": "2024-11-20", "posting_until": "2024-11-27"},
            {"to": "approved"},
        ):
            if body is None:
                meeting = {
                    "village": "T1",
                    "held_on": "2024-11-18",
                    "attendance": 6,
                    "agreements": [{"household_id": household["id"], "agreeing": 6}],
                }
                assert (await client.post(f"{commune}/meetings", json=meeting)).status_code == 201
                continue
            assert (await client.post(f"{commune}/review/steps", json=body)).status_code == 200
        approved = await province.post(approval)
        again = await province.post(approval)
        reopened = await client.post(f"{commune}/review/reopen", json={"reason": "error"})
        after = await province.get(approval)

        assert early.status_code == 409
        assert approved.status_code == 200, approved.text
        assert approved.json()["approved"] is True
        assert approved.json()["approved_by"] == "province-26"
        assert approved.json()["communes"] == [{"commune_code": QUANG_SON, "state": "approved"}]
        assert again.status_code == 409
        assert reopened.status_code == 200
        assert after.json()["approved"] is False
        async with sessionmaker() as session:
            types = list(await session.exec(select(outbox.c.type).order_by(outbox.c.position)))
            [reopen_event] = await session.exec(
                select(outbox.c.envelope).where(outbox.c.type == "households.review.reopened.v1")
            )
        assert "households.review.province_approved.v1" in types
        assert reopen_event["data"]["province_approval_withdrawn"] is True

    async def test_a_commune_officer_does_not_see_the_province(
        self, as_role: Any, round_id: str
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, QUANG_SON)

        response = await officer.get(f"/api/v1/rounds/{round_id}/provinces/{VINH_PHUC}/approval")

        assert response.status_code == 404
