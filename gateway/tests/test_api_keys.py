"""API keys: created with a secret shown once, exchanged at the gateway for a token, revocable."""

import unicodedata
from collections.abc import Callable

import httpx
import pytest

from kit.auth import Role

KEY = {"name": "MOLISA statistics", "role": "ministry_analyst", "units": None}


def recording(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return handler


class TestManaging:
    async def test_the_secret_is_shown_once_and_stored_hashed(self, serve) -> None:
        async with serve() as client:
            created = await client.post("/api/v1/admin/api-keys", json=KEY)
            listed = (await client.get("/api/v1/admin/api-keys")).json()
            read = (await client.get(f"/api/v1/admin/api-keys/{created.json()['id']}")).json()

        assert created.status_code == 201
        key = created.json()
        assert key["secret"].startswith("pvk_")
        assert key["prefix"] == key["secret"][:12]
        assert key["created_by"] == "test-admin"
        assert key["last_used_at"] is None
        assert listed["total"] == 1
        assert "secret" not in listed["items"][0]
        assert "secret" not in read
        assert key["secret"] not in str(listed)

    async def test_a_scope_must_suit_the_role(self, serve) -> None:
        async with serve() as client:
            response = await client.post(
                "/api/v1/admin/api-keys", json=KEY | {"role": "province_officer"}
            )

        assert response.status_code == 422

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (KEY | {"name": "MOLISA\u202estatistics"}, "name"),  # a bidi override
            (KEY | {"name": "MOLISA\x00"}, "name"),
            (KEY | {"expires": "never"}, "expires"),  # unknown fields are refused
        ],
    )
    async def test_a_bad_body_is_refused_by_name(self, serve, body: dict, field: str) -> None:
        async with serve() as client:
            response = await client.post("/api/v1/admin/api-keys", json=body)
            listed = (await client.get("/api/v1/admin/api-keys")).json()

        assert response.status_code == 422
        # The body's model is chosen by role: its tag sits between "body" and the field.
        [error] = response.json()["errors"]
        assert (error["loc"][0], error["loc"][-1]) == ("body", field)
        assert listed["total"] == 0

    async def test_a_name_is_stored_nfc_and_trimmed_and_unit_codes_in_ascii(self, serve) -> None:
        decomposed = unicodedata.normalize("NFD", " Sở Lao động ")
        body = {"name": decomposed, "role": "province_officer", "units": ["２５"]}

        async with serve() as client:
            response = await client.post("/api/v1/admin/api-keys", json=body)

        assert response.status_code == 201, response.text
        assert (response.json()["name"], response.json()["units"]) == ("Sở Lao động", ["25"])

    async def test_its_units_must_be_in_force_at_its_roles_level(self, serve) -> None:
        async with serve() as client:
            response = await client.post(
                "/api/v1/admin/api-keys",
                json={"name": "commune app", "role": "commune_officer", "units": ["26"]},
            )

        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "units", 0]
        assert "26 is a province" in error["msg"]

    async def test_revoked_keys_are_listed_only_when_asked_for(self, serve) -> None:
        async with serve() as client:
            key = (await client.post("/api/v1/admin/api-keys", json=KEY)).json()
            revoked = await client.post(f"/api/v1/admin/api-keys/{key['id']}/revoke")
            default = (await client.get("/api/v1/admin/api-keys")).json()
            everything = (
                await client.get("/api/v1/admin/api-keys", params={"include_revoked": True})
            ).json()

        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert default["items"] == []
        assert [item["id"] for item in everything["items"]] == [key["id"]]


class TestUsing:
    async def test_a_key_is_forwarded_as_a_token_of_its_own_never_as_itself(
        self, serve, accounts
    ) -> None:
        seen: list[httpx.Request] = []
        async with serve(households=recording(seen)) as admin:
            key = (
                await admin.post(
                    "/api/v1/admin/api-keys",
                    json={"name": "province system", "role": "province_officer", "units": ["26"]},
                )
            ).json()
            response = await admin.get(
                "/api/v1/households",
                headers={"X-API-Key": key["secret"], "Authorization": "Bearer forged"},
            )

        assert response.status_code == 200
        [upstream] = seen
        assert "x-api-key" not in upstream.headers
        scheme, _, token = upstream.headers["authorization"].partition(" ")
        assert scheme == "Bearer"
        caller = await accounts.verified(token)
        assert caller.subject == f"api-key:{key['id']}"
        assert caller.role == Role.PROVINCE_OFFICER
        assert caller.unit_scope == ("26",)

    async def test_the_gateways_own_routes_accept_a_key_too(self, serve) -> None:
        async with serve() as admin:
            key = (await admin.post("/api/v1/admin/api-keys", json=KEY)).json()
            me = await admin.get(
                "/api/v1/auth/me", headers={"X-API-Key": key["secret"], "Authorization": ""}
            )

        assert me.status_code == 200
        assert me.json()["subject"] == f"api-key:{key['id']}"
        assert me.json()["role"] == "ministry_analyst"

    async def test_an_unknown_or_revoked_key_is_refused_before_forwarding(self, serve) -> None:
        seen: list[httpx.Request] = []
        async with serve(households=recording(seen)) as admin:
            key = (await admin.post("/api/v1/admin/api-keys", json=KEY)).json()
            before = await admin.get("/api/v1/units", headers={"X-API-Key": key["secret"]})
            await admin.post(f"/api/v1/admin/api-keys/{key['id']}/revoke")
            revoked = await admin.get("/api/v1/units", headers={"X-API-Key": key["secret"]})
            unknown = await admin.get("/api/v1/units", headers={"X-API-Key": "pvk_guessed"})

        assert before.status_code == 200
        for response in (revoked, unknown):
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"] == "The API key is unknown or revoked."
        assert len(seen) == 1

    async def test_the_last_use_is_recorded_about_once_a_minute(self, serve) -> None:
        async with serve(households=lambda request: httpx.Response(200)) as admin:
            key = (await admin.post("/api/v1/admin/api-keys", json=KEY)).json()
            url = f"/api/v1/admin/api-keys/{key['id']}"
            await admin.get("/api/v1/units", headers={"X-API-Key": key["secret"]})
            first = (await admin.get(url)).json()["last_used_at"]
            await admin.get("/api/v1/units", headers={"X-API-Key": key["secret"]})
            second = (await admin.get(url)).json()["last_used_at"]

        assert first is not None
        assert second == first  # a minute has not passed: no write


async def test_a_role_that_is_no_string_is_a_422(serve) -> None:
    async with serve() as client:
        response = await client.post("/api/v1/admin/api-keys", json=KEY | {"role": {}})

    assert response.status_code == 422
    assert "The role must be one of" in response.json()["errors"][0]["msg"]
