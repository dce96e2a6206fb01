"""Digital teams of a commune: managed by its officers (and those above), read within the scope,
members' personal data masked for roles that may not read it."""

import uuid
from collections.abc import Callable

import httpx

from kit.auth import Role

from .conftest import HOP_LY, QUANG_SON, member_json, team_json, team_with_member

TEAMS = f"/api/v1/communes/{QUANG_SON}/digital-teams"


class TestCreateTeam:
    async def test_a_commune_officer_creates_a_team_of_their_commune(
        self, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with as_role(Role.COMMUNE_OFFICER, QUANG_SON) as officer:
            response = await officer.post(TEAMS, json=team_json())

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["commune_code"] == QUANG_SON
        assert body["villages"] == ["Thôn Đồng Giang", "Thôn 2"]
        assert body["members"] == []
        assert response.headers["etag"] == '"1"'

    async def test_another_communes_officer_finds_no_such_commune(
        self, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with as_role(Role.COMMUNE_OFFICER, HOP_LY) as officer:
            response = await officer.post(TEAMS, json=team_json())

        assert response.status_code == 404

    async def test_an_enumerator_may_not_manage_teams(
        self, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with as_role(Role.ENUMERATOR, QUANG_SON) as enumerator:
            response = await enumerator.post(TEAMS, json=team_json())

        assert response.status_code == 403

    async def test_a_team_starting_when_the_commune_no_longer_exists_names_active_from(
        self, client: httpx.AsyncClient
    ) -> None:
        # Quang Sơn was merged on 1 July 2025.
        response = await client.post(TEAMS, json=team_json(active_from="2025-08-01"))

        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "active_from"]
        assert "merged into" in error["msg"]

    async def test_a_period_ending_before_it_starts_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(TEAMS, json=team_json(active_to="2023-12-31"))

        assert response.status_code == 422

    async def test_a_retry_with_the_same_idempotency_key_creates_one_team(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        first = await client.post(TEAMS, json=team_json(), headers=headers)
        retry = await client.post(TEAMS, json=team_json(), headers=headers)

        assert first.status_code == retry.status_code == 201
        assert retry.json()["id"] == first.json()["id"]
        assert (await client.get(TEAMS)).json()["total"] == 1


class TestChangeTeam:
    async def test_patch_needs_the_current_version(self, client: httpx.AsyncClient) -> None:
        team, _ = await team_with_member(client)
        url = f"{TEAMS}/{team['id']}"

        without = await client.patch(url, json={"villages": ["Thôn 3"]})
        stale = await client.patch(url, json={"villages": ["Thôn 3"]}, headers={"If-Match": '"7"'})
        changed = await client.patch(
            url,
            json={"villages": ["Thôn 3"], "active_to": "2025-06-30"},
            headers={"If-Match": '"1"'},
        )

        assert (without.status_code, stale.status_code, changed.status_code) == (428, 412, 200)
        assert changed.json()["villages"] == ["Thôn 3"]
        assert changed.json()["active_to"] == "2025-06-30"
        assert changed.headers["etag"] == '"2"'

    async def test_an_end_before_the_start_names_active_to(self, client: httpx.AsyncClient) -> None:
        team, _ = await team_with_member(client)
        response = await client.patch(
            f"{TEAMS}/{team['id']}", json={"active_to": "2023-01-01"}, headers={"If-Match": '"1"'}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "active_to"]

    async def test_members_are_updated_and_deactivated(self, client: httpx.AsyncClient) -> None:
        team, member = await team_with_member(client)
        url = f"{TEAMS}/{team['id']}/members/{member['id']}"

        updated = await client.patch(url, json={"phone": "0987 654 321", "role": "Thành viên"})
        left = await client.post(f"{url}/deactivation", json={"left_on": "2025-06-30"})

        assert updated.status_code == 200
        assert (updated.json()["phone"], updated.json()["role"]) == ("0987 654 321", "Thành viên")
        assert left.status_code == 200
        assert (left.json()["active"], left.json()["left_on"]) == (False, "2025-06-30")

    async def test_a_member_of_another_team_is_not_found_through_this_one(
        self, client: httpx.AsyncClient
    ) -> None:
        team, _ = await team_with_member(client)
        _, other_member = await team_with_member(client)

        response = await client.patch(
            f"{TEAMS}/{team['id']}/members/{other_member['id']}", json={"role": "x"}
        )

        assert response.status_code == 404


class TestReadTeams:
    async def test_a_province_officer_reads_members_masked(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        await team_with_member(client)

        async with as_role(Role.PROVINCE_OFFICER, "26") as province:
            response = await province.get(TEAMS)

        assert response.status_code == 200
        [member] = response.json()["items"][0]["members"]
        assert (member["full_name"], member["phone"], member["email"]) == ("***",) * 3
        assert member["personal_data_masked"] is True
        assert member["role"] == "Tổ trưởng"

    async def test_the_communes_officer_reads_them_as_entered(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        await team_with_member(client)

        async with as_role(Role.COMMUNE_OFFICER, QUANG_SON) as officer:
            response = await officer.get(TEAMS)

        [member] = response.json()["items"][0]["members"]
        assert member | member_json() == member
        assert member["personal_data_masked"] is False

    async def test_the_audit_log_masks_members_names_for_a_province_officer(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        await team_with_member(client)

        async with as_role(Role.PROVINCE_OFFICER, "26") as province:
            entries = (await province.get("/api/v1/audit", params={"unit_code": QUANG_SON})).json()

        [added] = [e for e in entries["items"] if e["action"] == "digital_team.member_added"]
        assert added["changes"]["full_name"] == {"old": "***", "new": "***"}
        assert "Trần Thị Lan" not in str(entries)

    async def test_outside_the_scope_the_commune_is_not_found(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        team, _ = await team_with_member(client)

        async with as_role(Role.COMMUNE_OFFICER, HOP_LY) as other:
            listed = await other.get(TEAMS)
            one = await other.get(f"{TEAMS}/{team['id']}")

        assert (listed.status_code, one.status_code) == (404, 404)

    async def test_an_analyst_may_not_read_teams(
        self, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        async with as_role(Role.MINISTRY_ANALYST) as analyst:
            response = await analyst.get(TEAMS)

        assert response.status_code == 403
