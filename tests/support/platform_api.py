"""A small client of the public API, and the scenarios both ways of running must pass."""

import asyncio
import base64
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import httpx
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kit.auth import Role, SigningKey
from kit.contracts import Envelope
from kit.settings import AppSettings

T = TypeVar("T")
_round_days = itertools.count()


class Broker(Protocol):
    """What a scenario may do to the message transport of the platform under test."""

    async def publish_raw(self, body: bytes, *, type: str, message_id: str) -> None: ...
    async def stop(self) -> None: ...
    async def start(self) -> None: ...
    async def staged_envelopes(self) -> list[Envelope]: ...


def member(
    no: int,
    *,
    born: str = "1980-05-01",
    head: bool = False,
    insured: bool = True,
    relation: str = "spouse",
    national_id: str | None = None,
) -> dict[str, Any]:
    return {
        "full_name": f"Nguyễn Văn {no}",
        "birth_date": born,
        "sex": "male",
        "relation_to_head": "head" if head else relation,
        "working_status": "self_employed",
        "has_health_insurance": insured,
        "highest_qualification": "upper_secondary",
        "national_id": national_id,
    }


def assessment(*, poor: bool) -> dict[str, Any]:
    """A two-member household: poor (score 100, three deprivations) or clearly not poor."""
    return {
        "members": [member(1, head=True, insured=not poor), member(2)],
        "dwelling": {"floor_area_m2": 40.0},
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": not poor,
        "devices": [] if poor else ["smartphone"],
        "income_score_a": 100 if poor else 300,
    }


class PasswordLogin(httpx.Auth):
    """Logs in at the gateway's token endpoint, and again whenever a token is refused (expired,
    or signed by a key that has since been replaced)."""

    requires_response_body = True

    def __init__(self, username: str, password: str) -> None:
        self._form = {"grant_type": "password", "username": username, "password": password}
        self._token: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None:
            self._take((yield self._login(request)))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:
            self._take((yield self._login(request)))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _login(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request("POST", request.url.join("/api/v1/auth/token"), data=self._form)

    def _take(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        self._token = response.json()["access_token"]


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def ok(self, response: Awaitable[httpx.Response], *expected: int) -> dict[str, Any]:
        answer = await response
        assert answer.status_code in (expected or (200, 201)), answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def open_round(self) -> dict[str, Any]:
        """A round of its own for each scenario, so their figures never mix."""
        reference = date(2024, 1, 1) + timedelta(days=next(_round_days))
        return await self.ok(
            self.client.post(
                "/api/v1/rounds",
                json={
                    "year": 2024,
                    "kind": "periodic",  # a regular round's reference date is a 15th
                    "reference_date": reference.isoformat(),
                    "standard_id": "VN-2022-2025",
                },
            ),
            201,
        )

    async def register(self, code: str, commune: str) -> dict[str, Any]:
        return await self.ok(
            self.client.post(
                "/api/v1/households",
                json={"household_code": code, "commune_code": commune, "village": "Thôn 1"},
            ),
            201,
        )

    async def survey(
        self, household: dict[str, Any], round_: dict[str, Any], *, poor: bool
    ) -> httpx.Response:
        return await self.client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_['id']}",
            json=assessment(poor=poor),
        )

    async def population(self, round_: dict[str, Any], commune: str, households: int) -> None:
        await self.ok(
            self.client.put(
                f"/api/v1/populations/{round_['id']}/{commune}",
                json={"resident_households": households, "resident_persons": households * 2},
            )
        )

    async def figures(self, round_: dict[str, Any], unit: str) -> dict[str, Any] | None:
        response = await self.client.get(f"/api/v1/figures/{round_['id']}/{unit}")
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    async def recalculate(self, round_: dict[str, Any]) -> dict[str, Any]:
        job = await self.ok(
            self.client.post("/api/v1/recalculations", json={"round_id": round_["id"]}), 202
        )

        async def finished() -> dict[str, Any] | None:
            current = await self.ok(self.client.get(f"/api/v1/recalculations/{job['id']}"))
            return current if current["status"] in ("succeeded", "failed") else None

        return await eventually(finished)


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 60.0) -> T:
    """Poll `probe` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s")
        await asyncio.sleep(0.1)


def surveyed(figures: dict[str, Any] | None) -> int:
    return figures["total"]["households"]["surveyed"] if figures else 0


# --- Scenarios --------------------------------------------------------------------------------


async def an_assessment_shows_in_every_level(api: Api) -> None:
    round_ = await api.open_round()
    await api.population(round_, "08707", households=4)
    household = await api.register(f"E2E-{round_['id'][:8]}-1", "08707")
    assert (await api.survey(household, round_, poor=True)).status_code == 201

    async def province_counts_it() -> dict[str, Any] | None:
        figures = await api.figures(round_, "26")
        return figures if figures and figures["total"]["households"]["poor"] == 1 else None

    await eventually(province_counts_it)
    for unit in ("08707", "243", "26"):
        figures = await api.figures(round_, unit)
        assert figures is not None
        assert figures["total"]["households"]["poor"] == 1
        assert figures["total"]["households"]["resident"] == 4
        assert figures["total"]["household_rates"]["poverty_rate_percent"] == 25.0
        assert figures["denominator"]["status"] == "complete"
        assert figures["deprivation"]["poor"]["households"] == 1


async def an_approved_commune_is_read_only_and_its_figures_say_so(api: Api) -> None:
    """The round's life across both services: the commune's steps in households, then the
    approval carried by events into the figures' status, and writes refused once approved."""
    round_ = await api.open_round()
    reference = date.fromisoformat(round_["reference_date"])
    household = await api.register(f"E2E-{round_['id'][:8]}-life", "08707")
    assert (await api.survey(household, round_, poor=True)).status_code == 201
    review = f"/api/v1/rounds/{round_['id']}/communes/08707"

    async def step(**body: Any) -> dict[str, Any]:
        return await api.ok(api.client.post(f"{review}/review/steps", json=body))

    assert (await step(to="surveyed"))["state"] == "surveyed"
    meeting = {
        "village": "Thôn 1",
        "held_on": (reference + timedelta(days=1)).isoformat(),
        "attendance": 10,
        "agreements": [{"household_id": household["id"], "agreeing": 6}],
    }
    await api.ok(api.client.post(f"{review}/meetings", json=meeting), 201)
    posting = {
        "posting_from": (reference + timedelta(days=2)).isoformat(),
        "posting_until": (reference + timedelta(days=9)).isoformat(),
    }
    assert (await step(to="posted", **posting))["state"] == "posted"
    assert (await step(to="approved"))["state"] == "approved"

    refused = await api.survey(household, round_, poor=False)
    assert refused.status_code == 409, refused.text
    assert "approved" in refused.json()["detail"]

    async def approved() -> dict[str, Any] | None:
        figures = await api.figures(round_, "08707")
        return figures if figures and figures["status"] == "approved" else None

    figures = await eventually(approved)
    assert figures["total"]["households"]["poor"] == 1  # the survey before approval stands


async def duplicated_and_reordered_events_change_nothing(api: Api, broker: Broker) -> None:
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-2", "08710")
    await api.survey(household, round_, poor=True)
    current = await api.ok(
        api.client.get(f"/api/v1/households/{household['id']}/assessments/{round_['id']}")
    )
    replaced = await api.client.put(
        f"/api/v1/households/{household['id']}/assessments/{round_['id']}",
        json=assessment(poor=False),
        headers={"If-Match": f'"{current["version"]}"'},
    )
    assert replaced.status_code == 200, replaced.text

    async def settled_not_poor() -> dict[str, Any] | None:
        figures = await api.figures(round_, "08710")
        households = figures["total"]["households"] if figures else {}
        return figures if households.get("not_poor") == 1 and not households["poor"] else None

    before = await eventually(settled_not_poor)
    mine = [e for e in await broker.staged_envelopes() if e.subject == current["id"]]
    assert [e.sequence for e in mine] == [1, 2]
    for envelope in [*mine, *mine, mine[0]]:  # duplicates, then the old version again, late
        await broker.publish_raw(
            envelope.model_dump_json().encode(), type=envelope.type, message_id=str(envelope.id)
        )
    await asyncio.sleep(2)  # let them all arrive; nothing must change
    after = await api.figures(round_, "08710")
    assert after is not None
    assert after["total"] == before["total"]
    assert after["deprivation"] == before["deprivation"]


async def writes_survive_a_broker_outage(api: Api, broker: Broker, households: int = 12) -> None:
    round_ = await api.open_round()
    await api.population(round_, "08713", households=households)
    await broker.stop()
    try:
        for number in range(households):
            household = await api.register(f"E2E-{round_['id'][:8]}-o{number}", "08713")
            response = await api.survey(household, round_, poor=number % 3 == 0)
            assert response.status_code == 201, response.text
    finally:
        await broker.start()

    async def all_counted() -> dict[str, Any] | None:
        figures = await api.figures(round_, "26")
        return figures if surveyed(figures) == households else None

    incremental = await eventually(all_counted, within=120)
    assert incremental["total"]["households"]["poor"] == households // 3
    job = await api.recalculate(round_)
    assert job["status"] == "succeeded"
    assert job["figures_changed"] == 0
    assert job["changed_classes"] == 0
    recalculated = await api.figures(round_, "26")
    assert recalculated is not None
    assert recalculated["total"] == incremental["total"]


async def a_poison_message_is_dead_lettered_while_others_flow(api: Api, broker: Broker) -> None:
    poison_id = f"poison-{time.monotonic_ns()}"
    await broker.publish_raw(
        b"{not json", type="households.assessment.recorded.v1", message_id=poison_id
    )
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-p", "08716")
    await api.survey(household, round_, poor=False)

    async def counted() -> dict[str, Any] | None:
        return await api.figures(round_, "08716")

    assert surveyed(await eventually(counted)) == 1

    async def dead_lettered() -> list[dict[str, Any]] | None:
        letters = await api.ok(api.client.get("/api/v1/admin/indicators/dead-letters"))
        return [letter for letter in letters if letter["message_id"] == poison_id] or None

    [letter] = await eventually(dead_lettered)
    assert letter["body"] == "{not json"
    assert letter["queue"] == "indicators.events"


async def the_request_id_follows_the_write_into_its_event(api: Api, broker: Broker) -> None:
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-r", "08722")
    request_id = f"req-{time.monotonic_ns()}"

    response = await api.client.put(
        f"/api/v1/households/{household['id']}/assessments/{round_['id']}",
        json=assessment(poor=True),
        headers={"X-Request-ID": request_id},
    )

    assert response.status_code == 201
    assert response.headers["x-request-id"] == request_id
    staged = [e for e in await broker.staged_envelopes() if e.subject == response.json()["id"]]
    assert [e.correlation_id for e in staged] == [request_id]


# --- Tokens that must be refused ---------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_b64(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


def untrustworthy_tokens(key: SigningKey) -> dict[str, str]:
    """Tokens no part of the platform may accept, by what is wrong with them. `key` is the
    gateway's real signing key, so that each token is wrong in that one way only."""
    defaults = AppSettings.model_fields
    issuer, audience = defaults["AUTH_ISSUER"].default, defaults["AUTH_AUDIENCE"].default
    now = datetime.now(UTC)

    def issue(
        signer: SigningKey = key, *, at: datetime = now, iss: str = issuer, aud: str = audience
    ) -> str:
        return signer.issue(
            issuer=iss,
            audience=aud,
            subject="user:intruder",
            role=Role.ADMIN,
            unit_scope=None,
            lifetime=timedelta(minutes=15),
            now=at,
        )

    header, payload, signature = issue().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # A character in the middle: the last one may only carry padding bits.
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B")
    public_pem = key.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs256_header = _json_b64({"alg": "HS256", "typ": "JWT", "kid": key.kid})
    hs256_mac = hmac.new(public_pem, f"{hs256_header}.{payload}".encode(), "sha256").digest()
    return {
        "expired": issue(at=now - timedelta(minutes=16)),
        "not yet valid": issue(at=now + timedelta(hours=1)),
        "wrong audience": issue(aud="another-api"),
        "wrong issuer": issue(iss="someone-else"),
        "altered signature": f"{header}.{payload}.{flipped}{signature[middle + 1 :]}",
        "altered claims": f"{header}.{_json_b64(claims | {'sub': 'user:admin'})}.{signature}",
        "alg none": f"{_json_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "HS256 keyed with the public key": f"{hs256_header}.{payload}.{_b64(hs256_mac)}",
        "signed by an unknown or revoked key": issue(SigningKey.generate()),
    }


def valid_token(key: SigningKey) -> str:
    """A token that must be accepted: the control for `untrustworthy_tokens`."""
    defaults = AppSettings.model_fields
    return key.issue(
        issuer=defaults["AUTH_ISSUER"].default,
        audience=defaults["AUTH_AUDIENCE"].default,
        subject="user:e2e-control",
        role=Role.ADMIN,
        unit_scope=None,
        lifetime=timedelta(minutes=5),
    )


async def untrustworthy_tokens_are_refused(
    key: SigningKey, targets: Sequence[tuple[httpx.AsyncClient, str]]
) -> None:
    """Each target (an unauthenticated client and a path that needs a caller) refuses every
    untrustworthy token with 401 and accepts a valid one."""
    accepted: dict[str, list[str]] = {}
    for client, path in targets:
        control = await client.get(path, headers={"Authorization": f"Bearer {valid_token(key)}"})
        assert control.status_code == 200, f"{client.base_url}{path}: {control.text}"
        for name, token in untrustworthy_tokens(key).items():
            answer = await client.get(path, headers={"Authorization": f"Bearer {token}"})
            if answer.status_code != 401:
                accepted.setdefault(name, []).append(
                    f"{client.base_url}{path}: {answer.status_code}"
                )
            else:
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.headers["www-authenticate"].startswith("Bearer")
    assert not accepted, f"not refused with 401: {accepted}"


async def an_api_key_is_exchanged_for_a_token_and_revocable(admin: Api, anonymous: Api) -> None:
    """An admin creates a key; a machine client calls a service with it; revoked, it is refused."""
    created = await admin.ok(
        admin.client.post(
            "/api/v1/admin/api-keys",
            json={"name": "e2e statistics", "role": "ministry_analyst", "units": None},
        ),
        201,
    )
    headers = {"X-API-Key": created["secret"]}

    me = await anonymous.ok(anonymous.client.get("/api/v1/auth/me", headers=headers))
    assert me["subject"] == f"api-key:{created['id']}"
    assert me["role"] == "ministry_analyst"
    assert (await anonymous.client.get("/api/v1/rounds", headers=headers)).status_code == 200
    refused = await anonymous.client.get("/api/v1/households", headers=headers)
    assert refused.status_code == 403, refused.text  # the key's role, enforced by the service

    await admin.ok(admin.client.post(f"/api/v1/admin/api-keys/{created['id']}/revoke"))
    revoked = await anonymous.client.get("/api/v1/rounds", headers=headers)
    assert revoked.status_code == 401
    listed = await admin.ok(
        admin.client.get("/api/v1/admin/api-keys", params={"include_revoked": "true"})
    )
    [key] = [key for key in listed["items"] if key["id"] == created["id"]]
    assert key["last_used_at"] is not None
    assert key["revoked_at"] is not None


async def a_deactivated_users_token_is_refused_everywhere_within_seconds(
    admin: Api, targets: Sequence[tuple[httpx.AsyncClient, str]], *, within: float = 10.0
) -> None:
    """A user logs in; its token works at the gateway and at each service (each target: an
    unauthenticated client and a path the user may read). Once an admin deactivates the user,
    every target refuses that token with 401 within `within` seconds."""
    username = f"e2e-{uuid.uuid4().hex[:10]}"
    password = f"never {uuid.uuid4().hex} guessed"
    spare = {"username": f"{username}-spare", "password": password, "role": "admin", "units": None}
    await admin.ok(admin.client.post("/api/v1/admin/users", json=spare), 201)  # not the last
    created = await admin.ok(
        admin.client.post(
            "/api/v1/admin/users",
            json={
                "username": username,
                "password": password,
                # Country-wide, so that no unit code (in force today or not) is needed.
                "role": "admin",
                "units": None,
            },
        ),
        201,
    )
    login = {"grant_type": "password", "username": username, "password": password}
    tokens = await admin.ok(admin.client.post("/api/v1/auth/token", data=login))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for client, path in targets:
        answer = await client.get(path, headers=headers)
        assert answer.status_code == 200, f"{client.base_url}{path}: {answer.text}"

    await admin.ok(
        admin.client.patch(f"/api/v1/admin/users/{created['id']}", json={"active": False})
    )

    async def refused_by(client: httpx.AsyncClient, path: str) -> httpx.Response | None:
        answer = await client.get(path, headers=headers)
        return answer if answer.status_code == 401 else None

    for client, path in targets:
        refusal = await eventually(lambda: refused_by(client, path), within=within)  # noqa: B023
        assert refusal.headers["content-type"] == "application/problem+json"
        assert "access changed" in refusal.json()["detail"], refusal.text
