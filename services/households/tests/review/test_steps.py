"""A commune's review moves `open → surveyed → posted → approved`, each step by the roles the
permission table allows, with its precondition, its history, its audit entry and its event."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.db import outbox
from households.review.service import STEPS, next_states
from kit.auth import Role
from kit.contracts.households import ReviewState

from .conftest import (
    POSTING,
    QUANG_SON,
    TICH_SON,
    Setter,
    Surveyor,
    Walker,
    meeting_json,
    review_url,
    survey_json,
)

STEP_CHANGED = "households.review.step_changed.v1"


async def events(sessionmaker: async_sessionmaker[AsyncSession], type_: str) -> list[Any]:
    statement = select(outbox.c.envelope).where(outbox.c.type == type_)
    async with sessionmaker() as session:
        return list(await session.exec(statement.order_by(outbox.c.position)))


async def audited(sessionmaker: async_sessionmaker[AsyncSession], action: str) -> list[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.action == action)
    async with sessionmaker() as session:
        return list(await session.exec(statement.order_by(col(AuditEntry.id))))


async def state_of(client: httpx.AsyncClient, round_id: str, commune: str = QUANG_SON) -> str:
    response = await client.get(f"{review_url(round_id, commune)}/review")
    assert response.status_code == 200, response.text
    state: str = response.json()["state"]
    return state


class TestReading:
    async def test_a_commune_never_moved_is_open_with_no_history(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        response = await client.get(f"{review_url(round_id)}/review")

        assert response.status_code == 200
        assert response.json() | {"round_id": None} == {
            "round_id": None,
            "commune_code": QUANG_SON,
            "state": "open",
            "version": 0,
            "next_states": ["surveyed"],
            "posting_from": None,
            "posting_until": None,
            "history": [],
        }

    async def test_a_commune_outside_the_callers_scope_is_not_found(
        self, as_role: Any, round_id: str
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, TICH_SON)

        response = await officer.get(f"{review_url(round_id)}/review")

        assert response.status_code == 404

    async def test_an_unknown_commune_is_not_found(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        response = await client.get(f"{review_url(round_id, '99999')}/review")

        assert response.status_code == 404


class TestAllowedSteps:
    async def test_a_commune_officer_walks_every_step_and_each_is_kept_audited_and_published(
        self,
        as_role: Any,
        client: httpx.AsyncClient,
        round_id: str,
        surveyed: Surveyor,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        household = await surveyed()
        officer = as_role(Role.COMMUNE_OFFICER, QUANG_SON, subject="officer-quang-son")
        url = review_url(round_id)

        first = await officer.post(f"{url}/review/steps", json={"to": "surveyed", "note": "ok"})
        meeting = meeting_json(household["id"], agreeing=7, attendance=12)
        assert (await officer.post(f"{url}/meetings", json=meeting)).status_code == 201
        second = await officer.post(f"{url}/review/steps", json={"to": "posted", **POSTING})
        third = await officer.post(f"{url}/review/steps", json={"to": "approved"})

        assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
        body = third.json()
        assert (body["state"], body["version"], body["next_states"]) == ("approved", 3, [])
        assert (body["posting_from"], body["posting_until"]) == ("2024-11-20", "2024-11-27")
        assert [(s["from_state"], s["to_state"], s["actor"]) for s in body["history"]] == [
            ("open", "surveyed", "officer-quang-son"),
            ("surveyed", "posted", "officer-quang-son"),
            ("posted", "approved", "officer-quang-son"),
        ]
        assert body["history"][0]["note"] == "ok"
        assert all(step["at"].endswith("Z") or "+00:00" in step["at"] for step in body["history"])
        published = await events(sessionmaker, STEP_CHANGED)
        assert [(e["data"]["from_state"], e["data"]["to_state"]) for e in published] == [
            ("open", "surveyed"),
            ("surveyed", "posted"),
            ("posted", "approved"),
        ]
        assert [e["sequence"] for e in published] == [1, 2, 3]
        assert {e["subject"] for e in published} == {f"review:{round_id}:{QUANG_SON}"}
        assert published[-1]["data"] | {"at": None} == {
            "round_id": round_id,
            "commune_code": QUANG_SON,
            "province_code": "26",
            "unit_path": ["26", "246", QUANG_SON],
            "from_state": "posted",
            "to_state": "approved",
            "actor": "officer-quang-son",
            "at": None,
            "version": 3,
            "posting_from": None,
            "posting_until": None,
        }
        # The step to posted carries the posting's days, for the reminders of its end.
        assert (published[1]["data"]["posting_from"], published[1]["data"]["posting_until"]) == (
            "2024-11-20",
            "2024-11-27",
        )
        entries = await audited(sessionmaker, "review.step_changed")
        assert [e.changes["state"]["new"] for e in entries] == ["surveyed", "posted", "approved"]
        assert {(e.actor, e.commune_code) for e in entries} == {("officer-quang-son", QUANG_SON)}

    @pytest.mark.parametrize("role", [Role.PROVINCE_OFFICER, Role.ENUMERATOR])
    async def test_roles_without_the_permission_move_nothing(
        self, as_role: Any, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, role: Role
    ) -> None:
        await surveyed()
        caller = as_role(role, QUANG_SON)

        response = await caller.post(
            f"{review_url(round_id)}/review/steps", json={"to": "surveyed"}
        )

        assert response.status_code == 403
        assert await state_of(client, round_id) == "open"

    async def test_a_commune_officer_of_another_commune_finds_no_review_to_move(
        self, as_role: Any, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor
    ) -> None:
        await surveyed()
        officer = as_role(Role.COMMUNE_OFFICER, TICH_SON)

        response = await officer.post(
            f"{review_url(round_id)}/review/steps", json={"to": "surveyed"}
        )

        assert response.status_code == 404
        assert await state_of(client, round_id) == "open"

    async def test_a_commune_of_the_two_level_map_is_published_without_a_district(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        hop_ly = "08770"  # Xã Hợp Lý, Tỉnh Phú Thọ (25) since 2025-07-01: no district
        round_in = {"year": 2026, "reference_date": "2026-01-15", "standard_id": "VN-2022-2025"}
        opened = await client.post("/api/v1/rounds", json=round_in)
        assert opened.status_code == 201, opened.text
        round_id = opened.json()["id"]
        household_in = {"household_code": "HL-1", "commune_code": hop_ly, "village": "Thôn 1"}
        household = (await client.post("/api/v1/households", json=household_in)).json()
        recorded = await client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_id}", json=survey_json()
        )
        assert recorded.status_code == 201, recorded.text

        moved = await client.post(
            f"{review_url(round_id, hop_ly)}/review/steps", json={"to": "surveyed"}
        )

        assert moved.status_code == 200, moved.text
        [published] = await events(sessionmaker, STEP_CHANGED)
        assert published["data"]["unit_path"] == ["25", hop_ly]


ALL_STATES = list(ReviewState)
FORBIDDEN = [
    (current, to) for current in ALL_STATES for to in ALL_STATES if (current, to) not in STEPS
]


class TestForbiddenSteps:
    def test_the_machine_is_the_documented_line(self) -> None:
        assert {(a.value, b.value) for a, b in STEPS} == {
            ("open", "surveyed"),
            ("surveyed", "posted"),
            ("posted", "approved"),
        }

    @pytest.mark.parametrize(
        ("current", "to"), FORBIDDEN, ids=[f"{a.value}->{b.value}" for a, b in FORBIDDEN]
    )
    async def test_a_step_without_an_arrow_is_a_conflict_naming_the_state_and_the_next_ones(
        self,
        client: httpx.AsyncClient,
        round_id: str,
        set_state: Setter,
        sessionmaker: async_sessionmaker[AsyncSession],
        current: ReviewState,
        to: ReviewState,
    ) -> None:
        if current is not ReviewState.open:
            await set_state(round_id, QUANG_SON, current)

        response = await client.post(
            f"{review_url(round_id)}/review/steps", json={"to": to.value, **POSTING}
        )

        assert response.status_code == 409
        detail = response.json()["detail"]
        allowed = ", ".join(s.value for s in next_states(current)) or "none"
        assert f"is {current.value}: it cannot move to {to.value}" in detail
        assert f"Allowed next: {allowed}" in detail
        assert await state_of(client, round_id) == current.value
        assert await events(sessionmaker, STEP_CHANGED) == []


class TestPreconditions:
    async def test_surveyed_needs_a_survey_in_the_commune(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor
    ) -> None:
        await surveyed(TICH_SON)  # another commune's survey does not count

        response = await client.post(
            f"{review_url(round_id)}/review/steps", json={"to": "surveyed"}
        )

        assert response.status_code == 409
        assert "No household of commune 08764 has a survey" in response.json()["detail"]
        assert await state_of(client, round_id) == "open"

    async def test_posted_needs_the_posting_period_naming_its_fields(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        await surveyed()
        await walk(ReviewState.surveyed)

        response = await client.post(f"{review_url(round_id)}/review/steps", json={"to": "posted"})

        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [
            ["body", "posting_from"],
            ["body", "posting_until"],
        ]

    async def test_a_posting_period_ending_before_it_starts_is_refused(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        body = {"to": "posted", "posting_from": "2024-11-20", "posting_until": "2024-11-19"}

        response = await client.post(f"{review_url(round_id)}/review/steps", json=body)

        assert response.status_code == 422

    async def test_posted_needs_every_surveyed_household_discussed_at_a_meeting(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        discussed, forgotten = await surveyed(), await surveyed()
        await walk(ReviewState.surveyed)
        url = review_url(round_id)
        meeting = meeting_json(discussed["id"], agreeing=4, attendance=4)
        assert (await client.post(f"{url}/meetings", json=meeting)).status_code == 201

        response = await client.post(f"{url}/review/steps", json={"to": "posted", **POSTING})

        assert response.status_code == 409
        detail = response.json()["detail"]
        assert "no village meeting has discussed 1 household(s)" in detail
        assert forgotten["household_code"] in detail
        assert discussed["household_code"] not in detail
        assert await state_of(client, round_id) == "surveyed"

    async def test_posted_needs_a_household_below_half_agreement_re_surveyed_after_its_meeting(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.surveyed)
        url = review_url(round_id)
        meeting = meeting_json(household["id"], agreeing=4, attendance=10)
        assert (await client.post(f"{url}/meetings", json=meeting)).status_code == 201
        listed = (await client.get(f"{url}/meetings")).json()
        refused = await client.post(f"{url}/review/steps", json={"to": "posted", **POSTING})
        current = await client.get(household["survey_url"])
        resurvey = await client.put(
            household["survey_url"],
            json=survey_json(income_score_a=90),
            headers={"If-Match": current.headers["etag"]},
        )
        assert resurvey.status_code == 200, resurvey.text
        after = await client.post(f"{url}/review/steps", json={"to": "posted", **POSTING})

        assert [ref["household_id"] for ref in listed["needs_resurvey"]] == [household["id"]]
        assert listed["items"][0]["agreements"][0]["agreement_share"] == 0.4
        assert listed["items"][0]["agreements"][0]["needs_resurvey"] is True
        assert refused.status_code == 409
        assert "less than 50% agreement" in refused.json()["detail"]
        assert household["household_code"] in refused.json()["detail"]
        assert after.status_code == 200, after.text

    async def test_exactly_half_agreement_is_enough(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.surveyed)
        url = review_url(round_id)
        meeting = meeting_json(household["id"], agreeing=5, attendance=10)
        assert (await client.post(f"{url}/meetings", json=meeting)).status_code == 201

        response = await client.post(f"{url}/review/steps", json={"to": "posted", **POSTING})

        assert response.status_code == 200, response.text

    async def test_a_later_meeting_with_enough_agreement_clears_an_earlier_one(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.surveyed)
        url = review_url(round_id)
        for held_on, agreeing in (("2024-11-10", 2), ("2024-11-12", 8)):
            meeting = meeting_json(
                household["id"], agreeing=agreeing, attendance=10, held_on=held_on
            )
            assert (await client.post(f"{url}/meetings", json=meeting)).status_code == 201

        response = await client.post(f"{url}/review/steps", json={"to": "posted", **POSTING})

        assert response.status_code == 200, response.text

    async def test_approved_needs_the_posting_period_ended(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.surveyed)
        url = review_url(round_id)
        meeting = meeting_json(household["id"], agreeing=3, attendance=3)
        assert (await client.post(f"{url}/meetings", json=meeting)).status_code == 201
        period = {"posting_from": "2024-11-20", "posting_until": "2099-12-31"}
        assert (
            await client.post(f"{url}/review/steps", json={"to": "posted", **period})
        ).status_code == 200

        response = await client.post(f"{url}/review/steps", json={"to": "approved"})

        assert response.status_code == 409
        assert "runs until 2099-12-31" in response.json()["detail"]
        assert await state_of(client, round_id) == "posted"

    async def test_approved_needs_every_objection_re_checked(
        self, client: httpx.AsyncClient, round_id: str, surveyed: Surveyor, walk: Walker
    ) -> None:
        household = await surveyed()
        await walk(ReviewState.posted)
        url = review_url(round_id)
        objection = {
            "household_id": household["id"],
            "lodged_on": "2024-11-21",
            "lodged_by": "Trần Thị Lan",
            "text": "The household owns a truck.",
        }
        lodged = await client.post(f"{url}/objections", json=objection)
        assert lodged.status_code == 201, lodged.text

        refused = await client.post(f"{url}/review/steps", json={"to": "approved"})
        recheck = await client.post(
            f"{url}/objections/{lodged.json()['id']}/recheck",
            json={"outcome": "rejected", "note": "The truck belongs to a neighbour."},
        )
        approved = await client.post(f"{url}/review/steps", json={"to": "approved"})

        assert refused.status_code == 409
        assert "1 objection(s)" in refused.json()["detail"]
        assert recheck.status_code == 200
        assert approved.status_code == 200, approved.text
