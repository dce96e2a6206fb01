"""`python -m gateway.migrate` (schema, signing key, first admin) and `python -m gateway.users`."""

import asyncio
import io
import stat
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from gateway import migrate
from gateway.config import Settings
from gateway.main import create_app
from gateway.users.__main__ import main as users_command
from kit.auth import SigningKey


@pytest.fixture
def fresh(tmp_path: Path) -> Settings:
    """Settings of a gateway that has never run: no database, no key."""
    return Settings(
        ENVIRONMENT="test",
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        SIGNING_KEY_FILE=tmp_path / "keys" / "signing-key.pem",
        FIRST_ADMIN_USERNAME="root",
        FIRST_ADMIN_PASSWORD=SecretStr("first admin password"),
    )


async def log_in(settings: Settings, username: str, password: str) -> httpx.Response:
    async with (
        LifespanManager(create_app(settings)) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as client,
    ):
        return await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": password},
        )


async def test_migrating_makes_the_schema_the_key_and_the_first_admin(fresh: Settings) -> None:
    await migrate.migrate(fresh)

    mode = stat.S_IMODE(fresh.SIGNING_KEY_FILE.stat().st_mode)
    assert mode == 0o600
    SigningKey.from_pem(fresh.SIGNING_KEY_FILE.read_bytes())
    response = await log_in(fresh, "root", "first admin password")
    assert response.status_code == 200, response.text


async def test_the_first_admin_is_made_only_while_there_is_no_active_admin(
    fresh: Settings,
) -> None:
    await migrate.migrate(fresh)
    changed = fresh.model_copy(update={"FIRST_ADMIN_PASSWORD": SecretStr("another password")})
    await migrate.migrate(changed)

    assert (await log_in(fresh, "root", "first admin password")).status_code == 200
    assert (await log_in(fresh, "root", "another password")).status_code == 401


async def test_the_key_survives_restarts(fresh: Settings) -> None:
    await migrate.migrate(fresh)
    first = fresh.SIGNING_KEY_FILE.read_bytes()
    await migrate.migrate(fresh)

    assert fresh.SIGNING_KEY_FILE.read_bytes() == first


def test_both_or_neither_first_admin_setting() -> None:
    with pytest.raises(ValueError, match="FIRST_ADMIN"):
        Settings(FIRST_ADMIN_USERNAME="root", FIRST_ADMIN_PASSWORD=None)


class TestUsersCommand:
    @pytest.fixture
    def database(self, fresh: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
        without_admin = fresh.model_copy(
            update={"FIRST_ADMIN_USERNAME": None, "FIRST_ADMIN_PASSWORD": None}
        )
        asyncio.run(migrate.migrate(without_admin))
        monkeypatch.setenv("DATABASE_URL", fresh.DATABASE_URL)
        monkeypatch.delenv("FIRST_ADMIN_USERNAME", raising=False)
        monkeypatch.delenv("FIRST_ADMIN_PASSWORD", raising=False)
        return fresh

    def test_creates_a_user_with_the_password_from_stdin(
        self,
        database: Settings,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))

        users_command(["create", "--username", "lan", "--role", "commune_officer", "--units",
                       "08707,08710"])  # fmt: skip

        assert "created lan (commune_officer" in capsys.readouterr().out

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["--role", "commune_officer"], "units"),
            (["--role", "admin", "--units", "x"], "units"),
        ],
    )
    def test_refuses_what_the_api_refuses(
        self,
        database: Settings,
        monkeypatch: pytest.MonkeyPatch,
        arguments: list[str],
        message: str,
    ) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))

        with pytest.raises(SystemExit, match=message):
            users_command(["create", "--username", "lan", *arguments])
