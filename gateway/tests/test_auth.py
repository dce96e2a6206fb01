"""Logging in, refreshing (rotation and reuse detection), logging out, /me and the JWKS."""

import jwt
import pytest
from pydantic import ValidationError

from gateway.config import Settings
from kit.auth import Role
from kit.testing import TEST_SIGNING_KEY


class TestLogin:
    async def test_a_user_logs_in_with_the_password_flow(self, serve, accounts) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan", role="commune_officer", units=["08707"])
            response = await accounts.login(client, "lan")

        assert response.status_code == 200, response.text
        tokens = response.json()
        assert tokens["token_type"] == "bearer"
        assert tokens["expires_in"] == 15 * 60
        assert tokens["refresh_token"].startswith("pvr_")
        caller = await accounts.verified(tokens["access_token"])
        assert (caller.subject, caller.role, caller.unit_scope) == (
            "user:lan",
            Role.COMMUNE_OFFICER,
            ("08707",),
        )
        assert response.headers["cache-control"] == "no-store"

    async def test_the_access_token_lives_as_long_as_the_setting_says(
        self, serve, accounts, settings: Settings
    ) -> None:
        async with serve(settings.model_copy(update={"ACCESS_TOKEN_MINUTES": 5})) as client:
            await accounts.create_user(client, "lan")
            tokens = (await accounts.login(client, "lan")).json()

        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        # `iat` is to the microsecond (`kit.auth.tokens`), `exp` to the second.
        assert claims["exp"] - claims["iat"] == pytest.approx(5 * 60, abs=1)
        assert tokens["expires_in"] == 5 * 60
        header = jwt.get_unverified_header(tokens["access_token"])
        assert header == {"alg": "EdDSA", "kid": TEST_SIGNING_KEY.kid, "typ": "JWT"}

    @pytest.mark.parametrize("minutes", [0, 16, 60])
    def test_access_tokens_never_live_beyond_15_minutes(self, minutes: int) -> None:
        with pytest.raises(ValidationError):
            Settings(ACCESS_TOKEN_MINUTES=minutes)

    async def test_a_wrong_password_and_an_unknown_user_get_the_same_401(
        self, serve, accounts
    ) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan")
            wrong = await accounts.login(client, "lan", "not the password")
            unknown = await accounts.login(client, "nobody", accounts.password)

        for response in (wrong, unknown):
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert wrong.json() == unknown.json()
        assert wrong.json()["detail"] == "Wrong username or password."

    async def test_the_username_is_not_case_sensitive(self, serve, accounts) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan")
            response = await accounts.login(client, "LAN")

        assert response.status_code == 200

    async def test_a_login_is_recorded(self, serve, accounts) -> None:
        async with serve() as client:
            user = await accounts.create_user(client, "lan")
            await accounts.login(client, "lan")
            after = (await client.get(f"/api/v1/admin/users/{user['id']}")).json()

        assert user["last_login_at"] is None
        assert after["last_login_at"] is not None

    async def test_a_deactivated_user_cannot_log_in(self, serve, accounts) -> None:
        async with serve() as client:
            user = await accounts.create_user(client, "lan")
            await client.patch(f"/api/v1/admin/users/{user['id']}", json={"active": False})
            response = await accounts.login(client, "lan")

        assert response.status_code == 401
        assert response.json()["detail"] == "Wrong username or password."

    @pytest.mark.parametrize(
        ("form", "status"),
        [
            ({"grant_type": "client_credentials"}, 400),
            ({"grant_type": "password", "username": "lan"}, 422),
            ({"grant_type": "refresh_token"}, 422),
            ({"username": "lan", "password": "x"}, 422),
        ],
    )
    async def test_an_incomplete_or_unknown_grant_is_refused(
        self, serve, form: dict[str, str], status: int
    ) -> None:
        async with serve() as client:
            response = await client.post("/api/v1/auth/token", data=form)

        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"


class TestRefresh:
    async def test_a_refresh_token_buys_a_new_pair_once(self, serve, accounts) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan")
            first = (await accounts.login(client, "lan")).json()
            second = await accounts.refresh(client, first["refresh_token"])

        assert second.status_code == 200, second.text
        pair = second.json()
        assert pair["refresh_token"] != first["refresh_token"]
        assert (await accounts.verified(pair["access_token"])).subject == "user:lan"

    async def test_reusing_a_spent_refresh_token_revokes_its_whole_family(
        self, serve, accounts
    ) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan")
            stolen = (await accounts.login(client, "lan")).json()["refresh_token"]
            owners = (await accounts.refresh(client, stolen)).json()["refresh_token"]
            replayed = await accounts.refresh(client, stolen)
            owners_next = await accounts.refresh(client, owners)

        assert replayed.status_code == 401
        assert replayed.headers["content-type"] == "application/problem+json"
        # The thief's replay revoked the owner's successor too: both must log in again.
        assert owners_next.status_code == 401

    async def test_another_login_is_a_family_of_its_own(self, serve, accounts) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan")
            phone = (await accounts.login(client, "lan")).json()["refresh_token"]
            laptop = (await accounts.login(client, "lan")).json()["refresh_token"]
            await accounts.refresh(client, phone)
            await accounts.refresh(client, phone)  # reuse: the phone's family is revoked
            still = await accounts.refresh(client, laptop)

        assert still.status_code == 200

    async def test_an_unknown_refresh_token_is_refused(self, serve, accounts) -> None:
        async with serve() as client:
            response = await accounts.refresh(client, "pvr_made-up")

        assert response.status_code == 401

    async def test_a_deactivated_user_cannot_refresh(self, serve, accounts) -> None:
        async with serve() as client:
            user = await accounts.create_user(client, "lan")
            tokens = (await accounts.login(client, "lan")).json()
            await client.patch(f"/api/v1/admin/users/{user['id']}", json={"active": False})
            response = await accounts.refresh(client, tokens["refresh_token"])

        assert response.status_code == 401

    async def test_a_changed_role_revokes_refresh_tokens_carrying_the_old_one(
        self, serve, accounts
    ) -> None:
        async with serve() as client:
            user = await accounts.create_user(client, "lan")
            tokens = (await accounts.login(client, "lan")).json()
            await client.patch(f"/api/v1/admin/users/{user['id']}", json={"role": "enumerator"})
            response = await accounts.refresh(client, tokens["refresh_token"])

        assert response.status_code == 401

    async def test_logging_out_revokes_the_refresh_token(self, serve, accounts) -> None:
        async with serve() as client:
            await accounts.create_user(client, "lan")
            tokens = (await accounts.login(client, "lan")).json()
            renewed = (await accounts.refresh(client, tokens["refresh_token"])).json()
            logout = await client.post(
                "/api/v1/auth/revoke", data={"token": renewed["refresh_token"]}
            )
            after = await accounts.refresh(client, renewed["refresh_token"])
            unknown = await client.post("/api/v1/auth/revoke", data={"token": "pvr_nothing"})

        assert logout.status_code == 200
        assert after.status_code == 401
        assert unknown.status_code == 200  # RFC 7009: says nothing about unknown tokens


class TestMe:
    async def test_names_the_caller_of_the_token(self, serve, accounts) -> None:
        async with serve() as client:
            await accounts.create_user(client, "minh", role="province_officer", units=["26"])
            tokens = (await accounts.login(client, "minh")).json()
            response = await client.get(
                "/api/v1/auth/me", headers=accounts.bearer_of(tokens["access_token"])
            )

        assert response.status_code == 200
        me = response.json()
        assert me["subject"] == "user:minh"
        assert me["role"] == "province_officer"
        assert me["units"] == ["26"]
        assert "households:read" in me["permissions"]
        assert "identity:manage" not in me["permissions"]

    async def test_needs_a_token(self, serve) -> None:
        async with serve(headers={}) as client:
            response = await client.get("/api/v1/auth/me")

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


async def test_the_jwks_publishes_the_signing_keys_public_half(serve) -> None:
    async with serve(headers={}) as client:
        response = await client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.json() == TEST_SIGNING_KEY.jwks()
    assert "d" not in response.json()["keys"][0]  # never the private part
