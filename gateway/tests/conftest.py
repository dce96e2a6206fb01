"""Gateway test fixtures: the app run in-process; every upstream is an `httpx.MockTransport`.

Each test gets its own identity database (a SQLite file with the gateway's tables) and a signing
key file holding `kit.testing.TEST_SIGNING_KEY`, so that `kit.testing.bearer()` headers are
accepted; `serve` gives a client that sends an admin's token unless told otherwise.
"""

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import httpx
import pytest
import sqlalchemy
from asgi_lifespan import LifespanManager

from gateway.config import Settings
from gateway.main import create_app
from gateway.models import metadata
from gateway.routes import UPSTREAMS
from kit.auth import Caller, Role, TokenVerifier
from kit.settings import AppSettings
from kit.testing import TEST_SIGNING_KEY, bearer, trusted_test_keys

Handler: TypeAlias = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class Serve(Protocol):
    def __call__(
        self,
        settings: Settings | None = None,
        *,
        headers: dict[str, str] | None = ...,
        peer: str = ...,
        units_in_force: Mapping[str, str] | None = ...,
        **handlers: Handler,
    ) -> AbstractAsyncContextManager[httpx.AsyncClient]: ...


PASSWORD = "correct horse battery"


class Accounts:
    """Users made through the admin API, logins and refreshes, token claims (`accounts` fixture)."""

    password = PASSWORD

    @staticmethod
    async def create_user(
        client: httpx.AsyncClient,
        username: str,
        *,
        role: str = "commune_officer",
        units: list[str] | None = None,
        password: str = PASSWORD,
    ) -> dict[str, Any]:
        if units is None and role not in ("admin", "ministry_analyst"):
            units = ["08707"]
        response = await client.post(
            "/api/v1/admin/users",
            json={"username": username, "password": password, "role": role, "units": units},
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    @staticmethod
    async def login(
        client: httpx.AsyncClient, username: str, password: str = PASSWORD
    ) -> httpx.Response:
        return await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": username, "password": password},
        )

    @staticmethod
    async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
        return await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    @staticmethod
    async def verified(token: str) -> Caller:
        """The caller a gateway-issued token names, verified as a service would."""
        defaults = AppSettings.model_fields
        verifier = TokenVerifier(
            trusted_test_keys(),
            issuer=defaults["AUTH_ISSUER"].default,
            audience=defaults["AUTH_AUDIENCE"].default,
        )
        return await verifier.verify(token)

    @staticmethod
    def bearer_of(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()


def down(request: httpx.Request) -> httpx.Response:
    """An upstream that refuses connections."""
    raise httpx.ConnectError("Connection refused", request=request)


# What the households service answers for the gateway's checks of unit codes (`gateway.units`):
# units in force today, by code. 243 was a district until 30 June 2025, so none is in force now.
UNITS_IN_FORCE = {
    "26": "province",
    "25": "province",
    "27": "province",
    "08707": "commune",
    "08710": "commune",
    "08719": "commune",
}


def with_units(households: Handler, units_in_force: Mapping[str, str]) -> Handler:
    """The households upstream, answering `GET /api/v1/units/{code}?on=…` from `units_in_force`."""

    async def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/")
        if request.method == "GET" and path[:4] == ["", "api", "v1", "units"] and len(path) == 5:
            if "on" in request.url.params:
                level = units_in_force.get(path[4])
                if level is None:
                    return httpx.Response(404, json={"title": "Not Found", "status": 404})
                return httpx.Response(200, json={"code": path[4], "level": level})
        answer = households(request)
        return await answer if inspect.isawaitable(answer) else answer

    return handle


def identity_database(folder: Path) -> str:
    """A SQLite file with the gateway's tables (the migrations are tested in tests/)."""
    path = folder / "gateway.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    key_file = tmp_path / "signing-key.pem"
    key_file.write_bytes(TEST_SIGNING_KEY.pem())
    # Every field the tests rely on is explicit, so the environment cannot change them.
    return Settings(
        ENVIRONMENT="test",
        LOG_JSON=False,
        LOG_LEVEL="WARNING",
        API_VERSION="0.1.0",
        HOUSEHOLDS_URL="http://households.internal:8001",
        INDICATORS_URL="http://indicators.internal:8002",
        NOTIFICATIONS_URL="http://notifications.internal:8003",
        OPENAPI_CACHE_SECONDS=30,
        DATABASE_URL=identity_database(tmp_path),
        SIGNING_KEY_FILE=key_file,
        RATE_LIMIT_PER_SECOND=1000,
        RATE_LIMIT_BURST=1000,
        LOGIN_ATTEMPTS_PER_MINUTE=1000,
        LOGIN_ATTEMPTS_BURST=1000,
        LOGIN_FREE_FAILURES=1000,
        LOGIN_FIRST_DELAY_SECONDS=1,
        LOGIN_MAX_DELAY_SECONDS=300,
        CORS_ALLOW_ORIGINS=[],
        TRUSTED_PROXIES=[],
        MESSAGE_BUS="inprocess",
        AUTH_NOT_BEFORE_POLL_SECONDS=0.05,
        FIRST_ADMIN_USERNAME=None,
        FIRST_ADMIN_PASSWORD=None,
    )


@pytest.fixture
def serve(settings: Settings) -> Serve:
    """`async with serve(households=handler) as client:`; upstreams not named are down.

    The households upstream answers the gateway's checks of unit codes from `units_in_force`
    (None: the households handler answers them too), whatever handles the rest. The client sends
    an admin's token; `headers={}` makes it anonymous. `peer` is the address the gateway sees the
    requests come from.
    """

    @asynccontextmanager
    async def serve(
        settings: Settings | None = settings,
        *,
        headers: dict[str, str] | None = None,
        peer: str = "127.0.0.1",
        units_in_force: Mapping[str, str] | None = UNITS_IN_FORCE,
        **handlers: Handler,
    ) -> AsyncIterator[httpx.AsyncClient]:
        if units_in_force is not None:
            households = with_units(handlers.get("households", down), units_in_force)
            handlers = {**handlers, "households": households}
        transports = {name: httpx.MockTransport(handlers.get(name, down)) for name in UPSTREAMS}
        app = create_app(settings, transports=transports)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app, client=(peer, 50000)),
                base_url="http://gateway",
                headers=bearer(Role.ADMIN) if headers is None else headers,
            ) as client,
        ):
            yield client

    return serve
