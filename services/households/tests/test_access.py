"""Who may see and change what in the households service: roles, unit scope, masking, audit.

Two communes of Vĩnh Phúc (26) serve as "ours" and "theirs": Quang Sơn (08764, district 246)
and Hội Hợp (08713, district 243).
"""

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.personal import MASK
from kit.auth import Role
from kit.testing import bearer
from synthetic.generator import Commune, generate

OURS, THEIRS = "08764", "08713"
OUR_DISTRICT, THEIR_DISTRICT = "246", "243"


def assessment_json() -> dict[str, Any]:
    [item] = generate([Commune(OURS, urban=False)], households=1, reference_date=date(2024, 11, 1))
    return item.assessment.model_dump(mode="json")


def household_json(code: str, commune: str) -> dict[str, Any]:
    return {
        "household_code": code,
        "commune_code": commune,
        "village": "Thôn 1",
        "address": "Số 1, Thôn 1",
        "head_name": "Nguyễn Văn Hùng",
    }


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    """A round, and one surveyed household in each commune, entered by the admin."""
    round_in = {"year": 2024, "reference_date": "2024-11-01", "standard_id": "VN-2022-2025"}
    round_id = (await client.post("/api/v1/rounds", json=round_in)).json()["id"]
    households = {}
    for commune in (OURS, THEIRS):
        response = await client.post(
            "/api/v1/households", json=household_json(f"HH-{commune}", commune)
        )
        assert response.status_code == 201, response.text
        households[commune] = response.json()
        recorded = await client.put(
            f"/api/v1/households/{households[commune]['id']}/assessments/{round_id}",
            json=assessment_json(),
        )
        assert recorded.status_code == 201, recorded.text
    return {"round_id": round_id, "households": households}


class TestIdentity:
    async def test_a_request_without_a_token_is_refused(self, client_with: Any) -> None:
        response = await client_with({}).get("/api/v1/units/26")

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_token_with_an_altered_signature_is_refused(self, client_with: Any) -> None:
        forged = bearer(Role.ADMIN)["Authorization"].rsplit(".", 1)[0] + ".AAAA"

        response = await client_with({"Authorization": forged}).get("/api/v1/units/26")

        assert response.status_code == 401
        assert "invalid_token" in response.headers["www-authenticate"]

    async def test_operations_endpoints_need_no_token(self, client_with: Any) -> None:
        assert (await client_with({}).get("/health/live")).status_code == 200


class TestUnitScope:
    async def test_a_commune_officer_lists_only_its_communes_households(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS)

        everything = (await officer.get("/api/v1/households")).json()
        theirs = (await officer.get("/api/v1/households", params={"unit_code": THEIRS})).json()
        surveys = await officer.get("/api/v1/assessments", params={"round_id": world["round_id"]})

        assert [h["commune_code"] for h in everything["items"]] == [OURS]
        assert everything["total"] == 1
        assert theirs["items"] == []
        assert [a["commune_code"] for a in surveys.json()["items"]] == [OURS]

    async def test_another_communes_household_does_not_exist_for_the_officer(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS)
        theirs = world["households"][THEIRS]

        read = await officer.get(f"/api/v1/households/{theirs['id']}")
        changed = await officer.patch(
            f"/api/v1/households/{theirs['id']}", json={"village": "X"}, headers={"If-Match": '"1"'}
        )
        survey = await officer.get(
            f"/api/v1/households/{theirs['id']}/assessments/{world['round_id']}"
        )

        assert (read.status_code, changed.status_code, survey.status_code) == (404, 404, 404)

    async def test_a_household_cannot_be_registered_or_moved_outside_the_scope(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        enumerator = as_role(Role.ENUMERATOR, OURS)
        ours = world["households"][OURS]

        registered = await enumerator.post(
            "/api/v1/households", json=household_json("HH-NEW", THEIRS)
        )
        moved = await enumerator.patch(
            f"/api/v1/households/{ours['id']}",
            json={"commune_code": THEIRS},
            headers={"If-Match": '"1"'},
        )

        for response in (registered, moved):
            assert response.status_code == 422
            assert response.json()["errors"][0]["loc"] == ["body", "commune_code"]
        assert (await enumerator.get(f"/api/v1/households/{ours['id']}")).json()["version"] == 1

    async def test_a_code_used_in_another_commune_is_free_in_ours(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        """Codes are unique per commune: registering one says nothing about other communes."""
        enumerator = as_role(Role.ENUMERATOR, OURS)
        their_code = world["households"][THEIRS]["household_code"]

        registered = await enumerator.post(
            "/api/v1/households", json=household_json(their_code, OURS)
        )
        again = await enumerator.post("/api/v1/households", json=household_json(their_code, OURS))

        assert registered.status_code == 201, registered.text
        assert again.status_code == 409
        assert again.json()["errors"][0]["loc"] == ["body", "household_code"]

    async def test_a_district_scope_covers_its_communes(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OUR_DISTRICT)

        listed = (await officer.get("/api/v1/households")).json()["items"]

        assert [h["commune_code"] for h in listed] == [OURS]

    async def test_populations_are_scoped(self, world: dict[str, Any], as_role: Any) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS)
        url = f"/api/v1/populations/{world['round_id']}"
        figures = {"resident_households": 10, "resident_persons": 40}

        ours = await officer.put(f"{url}/{OURS}", json=figures)
        theirs = await officer.put(f"{url}/{THEIRS}", json=figures)
        imported = await officer.post(f"{url}/import", json=[{"unit_code": THEIRS, **figures}])
        listed = (await officer.get(url)).json()["items"]

        assert (ours.status_code, theirs.status_code) == (201, 404)
        assert imported.status_code == 422
        assert imported.json()["errors"][0]["loc"] == ["body", 0, "unit_code"]
        assert [p["unit_code"] for p in listed] == [OURS]


class TestRoles:
    async def test_an_analyst_sees_units_but_no_household(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        analyst = as_role(Role.MINISTRY_ANALYST)
        ours = world["households"][OURS]

        assert (await analyst.get("/api/v1/units/26")).status_code == 200
        assert (await analyst.get("/api/v1/households")).status_code == 403
        assert (await analyst.get(f"/api/v1/households/{ours['id']}")).status_code == 403
        assert (await analyst.get("/api/v1/audit")).status_code == 403

    async def test_a_province_officer_reads_but_does_not_write_households(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.PROVINCE_OFFICER, "26")

        listed = await officer.get("/api/v1/households")
        registered = await officer.post("/api/v1/households", json=household_json("HH-P", OURS))

        assert listed.json()["total"] == 2
        assert registered.status_code == 403

    async def test_only_an_admin_opens_rounds(self, as_role: Any) -> None:
        round_in = {"year": 2025, "reference_date": "2025-11-01", "standard_id": "VN-2022-2025"}

        by_officer = await as_role(Role.PROVINCE_OFFICER, "26").post(
            "/api/v1/rounds", json=round_in
        )
        by_admin = await as_role(Role.ADMIN).post("/api/v1/rounds", json=round_in)

        assert (by_officer.status_code, by_admin.status_code) == (403, 201)


class TestPersonalData:
    async def test_a_province_officer_sees_households_with_personal_data_masked(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.PROVINCE_OFFICER, "26")
        ours = world["households"][OURS]

        household = (await officer.get(f"/api/v1/households/{ours['id']}")).json()
        survey = (
            await officer.get(f"/api/v1/households/{ours['id']}/assessments/{world['round_id']}")
        ).json()

        assert (household["head_name"], household["address"]) == (MASK, MASK)
        assert household["personal_data_masked"] is True
        assert household["village"] == "Thôn 1"  # what supervision needs stays
        assert survey["personal_data_masked"] is True
        assert {m["full_name"] for m in survey["members"]} == {MASK}
        assert {m["birth_date"] for m in survey["members"]} == {None}
        assert survey["members"][0]["has_health_insurance"] in (True, False)

    async def test_the_commune_officer_sees_them_in_full(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS)
        ours = world["households"][OURS]

        household = (await officer.get(f"/api/v1/households/{ours['id']}")).json()

        assert household["head_name"] == "Nguyễn Văn Hùng"
        assert household["personal_data_masked"] is False


class TestAudit:
    async def test_a_change_is_logged_with_its_actor_and_old_and_new_values(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS, subject="officer-quang-son")
        ours = world["households"][OURS]
        await officer.patch(
            f"/api/v1/households/{ours['id']}",
            json={"head_name": "Trần Thị Lan"},
            headers={"If-Match": '"1"'},
        )

        entries = (
            await officer.get(
                "/api/v1/audit", params={"household_id": ours["id"], "actor": "officer-quang-son"}
            )
        ).json()["items"]

        [entry] = entries
        assert entry["action"] == "household.updated"
        assert entry["changes"] == {"head_name": {"old": "Nguyễn Văn Hùng", "new": "Trần Thị Lan"}}
        assert entry["commune_code"] == OURS

    async def test_lists_of_personal_data_are_logged(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS, subject="lister")
        await officer.get("/api/v1/households", params={"unit_code": OURS})

        [entry] = (await officer.get("/api/v1/audit", params={"actor": "lister"})).json()["items"]

        assert entry["action"] == "households.listed"
        assert entry["changes"]["rows"] == 1
        assert entry["commune_code"] == OURS

    async def test_a_list_filtered_on_another_commune_is_logged_under_the_callers_scope(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        outsider = as_role(Role.COMMUNE_OFFICER, OURS, subject="outsider")
        theirs_officer = as_role(Role.COMMUNE_OFFICER, THEIRS)
        await outsider.get(
            "/api/v1/households", params={"unit_code": THEIRS, "village": "graffiti"}
        )
        await outsider.get(
            "/api/v1/assessments", params={"round_id": world["round_id"], "unit_code": THEIRS}
        )

        in_their_log = (await theirs_officer.get("/api/v1/audit")).json()["items"]
        in_our_log = (await outsider.get("/api/v1/audit", params={"actor": "outsider"})).json()

        assert [e for e in in_their_log if e["actor"] == "outsider"] == []
        assert "graffiti" not in str(in_their_log)
        assert {e["action"] for e in in_our_log["items"]} == {
            "households.listed",
            "assessments.listed",
        }
        assert {e["commune_code"] for e in in_our_log["items"]} == {OURS}
        listed = next(e for e in in_our_log["items"] if e["action"] == "households.listed")
        assert listed["changes"]["query"]["village"] == "graffiti"
        assert listed["changes"]["query"]["unit_code"] == THEIRS

    async def test_a_list_without_a_filter_is_logged_under_the_callers_scope(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, OURS, subject="unfiltered")
        district = as_role(Role.COMMUNE_OFFICER, OUR_DISTRICT, subject="district-reader")
        await officer.get("/api/v1/households")
        await district.get("/api/v1/households")

        [by_officer] = (await officer.get("/api/v1/audit", params={"actor": "unfiltered"})).json()[
            "items"
        ]
        [by_district] = (
            await district.get("/api/v1/audit", params={"actor": "district-reader"})
        ).json()["items"]

        assert (by_officer["province_code"], by_officer["commune_code"]) == (None, OURS)
        assert (by_district["district_code"], by_district["commune_code"]) == (OUR_DISTRICT, None)

    async def test_the_log_is_scoped_and_masked_for_supervisors(
        self, world: dict[str, Any], as_role: Any
    ) -> None:
        theirs_officer = as_role(Role.COMMUNE_OFFICER, THEIRS)
        province = as_role(Role.PROVINCE_OFFICER, "26")
        ours = world["households"][OURS]

        seen_by_theirs = (
            await theirs_officer.get("/api/v1/audit", params={"household_id": ours["id"]})
        ).json()
        seen_by_province = (
            await province.get(
                "/api/v1/audit", params={"household_id": ours["id"], "unit_code": OURS}
            )
        ).json()["items"]

        assert seen_by_theirs["items"] == []
        registered = next(e for e in seen_by_province if e["action"] == "household.registered")
        assert registered["changes"]["head_name"] == {"old": MASK, "new": MASK}
        assert registered["changes"]["village"] == {"old": None, "new": "Thôn 1"}


async def test_events_carry_the_acting_subject(
    world: dict[str, Any], as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    enumerator = as_role(Role.ENUMERATOR, OURS, subject="enumerator-7")
    await enumerator.post("/api/v1/households", json=household_json("HH-E7", OURS))

    async with sessionmaker() as session:
        envelopes = list(await session.exec(select(outbox.c.envelope)))

    registered = [e for e in envelopes if e["data"].get("household_code") == "HH-E7"]
    assert [e["actor"] for e in registered] == ["enumerator-7"]
    assert all("Bearer" not in str(e) for e in envelopes)
