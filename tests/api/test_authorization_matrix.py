"""The authorisation matrix: every operation of the public API × every role × a caller whose unit
scope holds the object and one whose scope does not (plus an anonymous caller).

The operations come from the gateway's merged OpenAPI document; each one's expected outcome per
role is written down once in `MATRIX`, and an operation without an entry fails the test. Every
request goes through the gateway, as a client's would. Beyond the status, no successful answer
may name an object outside the caller's scope (`hidden_markers`).

The objects live in Vĩnh Phúc (26): "ours" in Quang Sơn (08764, district 246), "theirs" in Hội
Hợp (08713, district 243); the 2025 reform reused neither code, so a household registered there
stays in 26. In scope: an admin and an analyst over the whole country, a province officer over
26, a commune officer and an enumerator over Quang Sơn. Out of scope: the same roles over Hà Nội
(01), where none of the objects is.
"""

import io
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from support import platform_api

from kit.auth import Caller, Role
from launcher.embedded import Platform, embedded_gateway_settings, running_platform
from notifications.config import Settings as NotificationSettings
from notifications.email import unsubscribe
from synthetic.files import household_line
from synthetic.generator import Commune, generate

pytestmark = pytest.mark.asyncio(loop_scope="module")

OURS, THEIRS = ("26", "246", "08764"), ("26", "243", "08713")
IN_SCOPE: dict[Role, tuple[str, ...] | None] = {
    Role.ADMIN: None,
    Role.PROVINCE_OFFICER: ("26",),
    Role.COMMUNE_OFFICER: (OURS[2],),
    Role.ENUMERATOR: (OURS[2],),
    Role.MINISTRY_ANALYST: None,
}
OUT_OF_SCOPE = ("01",)
ROLES = list(IN_SCOPE)

# Outcomes: a 2xx answer, or the refusal's status.
OK, UNAUTHENTICATED, FORBIDDEN, HIDDEN, CONFLICT, INVALID = "ok", "401", "403", "404", "409", "422"
PUBLIC = "public"  # no token needed: every caller, anonymous included, gets a 2xx answer


def each(in_scope: str, out_of_scope: str | None = None) -> dict[Role, tuple[str, str]]:
    """The same outcome for every role."""
    return {role: (in_scope, out_of_scope or in_scope) for role in ROLES}


def roles(
    admin: tuple[str, str],
    province: tuple[str, str],
    commune: tuple[str, str],
    enumerator: tuple[str, str],
    analyst: tuple[str, str],
) -> dict[Role, tuple[str, str]]:
    """Outcomes per role as (caller in scope, caller out of scope)."""
    return dict(zip(ROLES, (admin, province, commune, enumerator, analyst), strict=True))


ALL = (OK, OK)
NONE = (FORBIDDEN, FORBIDDEN)
SCOPED = (OK, HIDDEN)  # in scope it exists; outside, it does not
REFUSED_BODY = (OK, INVALID)  # a write naming a commune outside the scope is invalid input
GONE = (HIDDEN, HIDDEN)  # seen by nobody of the role, in scope or not
# Import jobs are seen by whoever uploaded them, or by a nationwide caller; an admin uploaded it.
IMPORT_JOB = (OK, HIDDEN)
# A review's moves are asked of a state they cannot leave that way (see `_request`): allowed, the
# caller gets the state machine's 409; not allowed, 403 or 404. The world's data stays writable.
REFUSED_STEP = (CONFLICT, HIDDEN)
# Operations over a whole round: the nationwide admin may, one over a unit scope may not.
NATIONWIDE = (OK, FORBIDDEN)

MATRIX: dict[tuple[str, str], dict[Role, tuple[str, str]] | str] = {
    # The gateway's own: health, keys and logging in are public.
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/.well-known/jwks.json"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/revoke"): PUBLIC,
    ("GET", "/api/v1/auth/me"): each(OK),
    # Identity management: admins only, whatever their scope.
    ("POST", "/api/v1/admin/users"): roles(ALL, NONE, NONE, NONE, NONE),
    ("GET", "/api/v1/admin/users"): roles(ALL, NONE, NONE, NONE, NONE),
    ("GET", "/api/v1/admin/users/{user_id}"): roles(ALL, NONE, NONE, NONE, NONE),
    ("PATCH", "/api/v1/admin/users/{user_id}"): roles(ALL, NONE, NONE, NONE, NONE),
    ("POST", "/api/v1/admin/api-keys"): roles(ALL, NONE, NONE, NONE, NONE),
    ("GET", "/api/v1/admin/api-keys"): roles(ALL, NONE, NONE, NONE, NONE),
    ("GET", "/api/v1/admin/api-keys/{key_id}"): roles(ALL, NONE, NONE, NONE, NONE),
    ("POST", "/api/v1/admin/api-keys/{key_id}/revoke"): roles(ALL, NONE, NONE, NONE, NONE),
    # Reference data: the unit tree, rounds and standards are for every role.
    ("GET", "/api/v1/units"): each(OK),
    ("GET", "/api/v1/units/{code}"): each(OK),
    ("GET", "/api/v1/units/{code}/children"): each(OK),
    ("GET", "/api/v1/units/{code}/path"): each(OK),
    ("GET", "/api/v1/units/{code}/successors"): each(OK),
    ("GET", "/api/v1/units/{code}/predecessors"): each(OK),
    ("GET", "/api/v1/rounds"): each(OK),
    ("GET", "/api/v1/rounds/{round_id}"): each(OK),
    ("POST", "/api/v1/rounds"): roles(ALL, NONE, NONE, NONE, NONE),
    ("GET", "/api/v1/standards"): each(OK),
    ("GET", "/api/v1/standards/{standard_id}"): each(OK),
    # Households: officers and enumerators in their scope; analysts never.
    ("POST", "/api/v1/households"): roles(REFUSED_BODY, NONE, REFUSED_BODY, REFUSED_BODY, NONE),
    ("GET", "/api/v1/households"): roles(ALL, ALL, ALL, ALL, NONE),
    ("GET", "/api/v1/households/{household_id}"): roles(SCOPED, SCOPED, SCOPED, SCOPED, NONE),
    ("PATCH", "/api/v1/households/{household_id}"): roles(SCOPED, NONE, SCOPED, SCOPED, NONE),
    ("PUT", "/api/v1/households/{household_id}/assessments/{round_id}"): roles(
        SCOPED, NONE, SCOPED, SCOPED, NONE
    ),
    ("GET", "/api/v1/households/{household_id}/assessments/{round_id}"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("GET", "/api/v1/assessments"): roles(ALL, ALL, ALL, ALL, NONE),
    # Households of old communes onto the map in force. The world's households stay where they
    # are: the carry is asked into Hà Nội, where none of them would go (`_request`); a fresh
    # household of Quang Sơn is assigned to its successor in Phú Thọ (25), which the officers
    # over the old units do not cover.
    ("GET", "/api/v1/households/relocations"): roles(ALL, ALL, ALL, ALL, NONE),
    ("POST", "/api/v1/households/relocations"): roles(ALL, ALL, ALL, NONE, NONE),
    ("POST", "/api/v1/households/relocations/{household_id}/assignment"): roles(
        SCOPED, (INVALID, HIDDEN), (INVALID, HIDDEN), NONE, NONE
    ),
    ("PUT", "/api/v1/populations/{round_id}/{unit_code}"): roles(SCOPED, NONE, SCOPED, NONE, NONE),
    ("GET", "/api/v1/populations/{round_id}"): roles(ALL, ALL, ALL, NONE, NONE),
    ("POST", "/api/v1/populations/{round_id}/import"): roles(
        REFUSED_BODY, NONE, REFUSED_BODY, NONE, NONE
    ),
    ("GET", "/api/v1/audit"): roles(ALL, ALL, ALL, NONE, NONE),
    # A commune's review: read by officers and enumerators, moved by the commune, reopened by an
    # admin; the province approves once all its communes are (not yet here: 409).
    ("GET", "/api/v1/rounds/{round_id}/communes/{code}/review"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("POST", "/api/v1/rounds/{round_id}/communes/{code}/review/steps"): roles(
        REFUSED_STEP, NONE, REFUSED_STEP, NONE, NONE
    ),
    ("POST", "/api/v1/rounds/{round_id}/communes/{code}/review/reopen"): roles(
        REFUSED_STEP, NONE, NONE, NONE, NONE
    ),
    ("POST", "/api/v1/rounds/{round_id}/communes/{code}/meetings"): roles(
        REFUSED_STEP, NONE, REFUSED_STEP, NONE, NONE
    ),
    ("GET", "/api/v1/rounds/{round_id}/communes/{code}/meetings"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("POST", "/api/v1/rounds/{round_id}/communes/{code}/objections"): roles(
        REFUSED_STEP, NONE, REFUSED_STEP, NONE, NONE
    ),
    ("GET", "/api/v1/rounds/{round_id}/communes/{code}/objections"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    # No objection exists to re-check: whoever may re-check finds none.
    ("POST", "/api/v1/rounds/{round_id}/communes/{code}/objections/{objection_id}/recheck"): roles(
        GONE, NONE, GONE, NONE, NONE
    ),
    ("GET", "/api/v1/rounds/{round_id}/provinces/{code}/approval"): roles(
        SCOPED, SCOPED, GONE, GONE, NONE
    ),
    ("POST", "/api/v1/rounds/{round_id}/provinces/{code}/approval"): roles(
        REFUSED_STEP, REFUSED_STEP, NONE, NONE, NONE
    ),
    # A person recorded in both communes: for supervisors whose scope covers both households.
    ("GET", "/api/v1/assessments/conflicts"): roles(ALL, ALL, ALL, NONE, NONE),
    ("POST", "/api/v1/assessments/conflicts/{conflict_id}/resolution"): roles(
        SCOPED, SCOPED, GONE, NONE, NONE
    ),
    # Bulk import: who enters households; a row outside the scope fails in the job's report.
    ("GET", "/api/v1/imports/template.csv"): roles(ALL, ALL, ALL, ALL, NONE),
    ("GET", "/api/v1/imports/template.xlsx"): roles(ALL, ALL, ALL, ALL, NONE),
    ("POST", "/api/v1/imports"): roles(ALL, NONE, ALL, ALL, NONE),
    ("GET", "/api/v1/imports"): roles(ALL, ALL, ALL, ALL, NONE),
    ("GET", "/api/v1/imports/{import_id}"): roles(IMPORT_JOB, GONE, GONE, GONE, NONE),
    ("GET", "/api/v1/imports/{import_id}/errors.csv"): roles(IMPORT_JOB, GONE, GONE, GONE, NONE),
    # Digital inclusion (docs/digital-inclusion.md): a commune's teams are managed by its officers
    # and those above them, read by whoever reads households; support is recorded by who enters
    # households. Outside the scope the commune or household does not exist.
    ("POST", "/api/v1/communes/{code}/digital-teams"): roles(SCOPED, SCOPED, SCOPED, NONE, NONE),
    ("GET", "/api/v1/communes/{code}/digital-teams"): roles(SCOPED, SCOPED, SCOPED, SCOPED, NONE),
    ("GET", "/api/v1/communes/{code}/digital-teams/{team_id}"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("PATCH", "/api/v1/communes/{code}/digital-teams/{team_id}"): roles(
        SCOPED, SCOPED, SCOPED, NONE, NONE
    ),
    ("POST", "/api/v1/communes/{code}/digital-teams/{team_id}/members"): roles(
        SCOPED, SCOPED, SCOPED, NONE, NONE
    ),
    ("PATCH", "/api/v1/communes/{code}/digital-teams/{team_id}/members/{member_id}"): roles(
        SCOPED, SCOPED, SCOPED, NONE, NONE
    ),
    (
        "POST",
        "/api/v1/communes/{code}/digital-teams/{team_id}/members/{member_id}/deactivation",
    ): roles(SCOPED, SCOPED, SCOPED, NONE, NONE),
    ("GET", "/api/v1/communes/{code}/support"): roles(SCOPED, SCOPED, SCOPED, SCOPED, NONE),
    ("POST", "/api/v1/households/{household_id}/support"): roles(
        SCOPED, NONE, SCOPED, SCOPED, NONE
    ),
    ("GET", "/api/v1/households/{household_id}/support"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("POST", "/api/v1/households/{household_id}/support/{support_id}/withdrawal"): roles(
        SCOPED, NONE, SCOPED, SCOPED, NONE
    ),
    # Figures: every role in its scope; classifications name households, so not analysts.
    ("GET", "/api/v1/figures/{round_id}/{unit_code}"): each(*SCOPED),
    # Asked of the district: a commune's officer may not see the district around it.
    ("GET", "/api/v1/figures/{round_id}/{unit_code}/children"): roles(
        SCOPED, SCOPED, GONE, GONE, SCOPED
    ),
    # Reports and charts are figures: the same scope. A report job's file holds what its
    # requester may see, so only the requester reads the job (the world's job is nobody's here).
    ("GET", "/api/v1/reports/{round_id}/{unit_code}"): each(*SCOPED),
    ("GET", "/api/v1/reports/{round_id}/{unit_code}/charts/{chart}"): each(*SCOPED),
    ("GET", "/api/v1/reports/charts/trend/{unit_code}"): each(*SCOPED),
    ("POST", "/api/v1/reports/jobs"): each(*SCOPED),
    ("GET", "/api/v1/reports/jobs/{job_id}"): each(*GONE),
    ("GET", "/api/v1/reports/jobs/{job_id}/file"): each(*GONE),
    ("GET", "/api/v1/information/{round_id}/{unit_code}"): each(*SCOPED),
    ("GET", "/api/v1/information/{round_id}/{unit_code}/children"): roles(
        SCOPED, SCOPED, GONE, GONE, SCOPED
    ),
    ("GET", "/api/v1/information/trend/{unit_code}"): each(*SCOPED),
    ("GET", "/api/v1/classifications/{round_id}"): roles(ALL, ALL, ALL, ALL, NONE),
    # Transitions between the world's round and a later one (docs/transitions.md): counts for
    # every role in its scope; the households behind them for those who see households.
    ("GET", "/api/v1/transitions/{from_round_id}/{to_round_id}/{unit_code}"): each(*SCOPED),
    ("GET", "/api/v1/transitions/{from_round_id}/{to_round_id}/{unit_code}/households"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("GET", "/api/v1/alkire-foster/{round_id}/{unit_code}"): each(*SCOPED),
    # Left-behind lists name households: for roles that see households, in their scope; the
    # did-the-help-work table is counts (perturbed for analysts), for every role in its scope.
    ("GET", "/api/v1/left-behind/{round_id}/{unit_code}"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("GET", "/api/v1/left-behind/{round_id}/{unit_code}/workbook"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    ("GET", "/api/v1/support-outcomes/{from_round_id}/{to_round_id}/{unit_code}"): each(*SCOPED),
    # Targets: set by province officers (and admins) for units of their scope, read by all.
    ("POST", "/api/v1/targets"): roles(REFUSED_BODY, REFUSED_BODY, NONE, NONE, NONE),
    ("GET", "/api/v1/targets"): each(OK),
    ("GET", "/api/v1/targets/{target_id}"): each(*SCOPED),
    # A target's chart and its numbers: the target's own answer, drawn (the same scope).
    ("GET", "/api/v1/targets/{target_id}/series"): each(*SCOPED),
    ("GET", "/api/v1/targets/{target_id}/chart"): each(*SCOPED),
    ("DELETE", "/api/v1/targets/{target_id}"): roles(SCOPED, SCOPED, NONE, NONE, NONE),
    # Context series: public statistics, imported by province officers (and admins) for units
    # of their scope, read by every role in its scope beside the information figures.
    ("POST", "/api/v1/context-series/import"): roles(REFUSED_BODY, REFUSED_BODY, NONE, NONE, NONE),
    ("GET", "/api/v1/context-series/{unit_code}"): each(*SCOPED),
    # What-if: run as a recalculation is; the world's job is a nationwide admin's.
    ("POST", "/api/v1/what-if"): roles(ALL, ALL, NONE, NONE, NONE),
    ("GET", "/api/v1/what-if/{job_id}"): roles(IMPORT_JOB, GONE, GONE, NONE, NONE),
    ("GET", "/api/v1/classifications/{round_id}/{household_id}"): roles(
        SCOPED, SCOPED, SCOPED, SCOPED, NONE
    ),
    # A recalculation covers a round within the caller's units and answers with counts only.
    ("POST", "/api/v1/recalculations"): roles(ALL, ALL, NONE, NONE, NONE),
    ("GET", "/api/v1/recalculations/{job_id}"): roles(ALL, ALL, ALL, NONE, NONE),
    ("GET", "/api/v1/notifications"): roles(ALL, ALL, ALL, NONE, NONE),
    ("POST", "/api/v1/notifications/{notification_id}/read"): roles(
        SCOPED, SCOPED, SCOPED, NONE, NONE
    ),
    ("POST", "/api/v1/notifications/read"): roles(ALL, ALL, ALL, NONE, NONE),
    # Subscriptions: every role, over units within its scope; each caller sees its own only (the
    # operations on one are asked of a subscription the caller has just made, see `_request`).
    ("POST", "/api/v1/subscriptions"): each(*SCOPED),
    ("GET", "/api/v1/subscriptions"): each(OK),
    ("GET", "/api/v1/subscriptions/{subscription_id}"): each(*SCOPED),
    ("PATCH", "/api/v1/subscriptions/{subscription_id}"): each(*SCOPED),
    ("DELETE", "/api/v1/subscriptions/{subscription_id}"): each(*SCOPED),
    ("POST", "/api/v1/subscriptions/{subscription_id}/resume"): each(*SCOPED),
    ("POST", "/api/v1/subscriptions/{subscription_id}/secret"): each(*SCOPED),
    ("GET", "/api/v1/subscriptions/{subscription_id}/deliveries"): each(*SCOPED),
    # No delivery exists for a subscription just made.
    ("GET", "/api/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}"): each(*GONE),
    ("POST", "/api/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver"): each(
        *GONE
    ),
    # One's own inbox; the admin's items are nobody else's.
    ("GET", "/api/v1/inbox"): each(OK),
    ("POST", "/api/v1/inbox/{item_id}/read"): each(*GONE),
    ("POST", "/api/v1/inbox/read"): each(OK),
    # E-mails' unsubscribe links: the signed token is the authority.
    ("GET", "/api/v1/unsubscribe"): PUBLIC,
    ("POST", "/api/v1/unsubscribe"): PUBLIC,
    # Operations: admins only.
    ("GET", "/api/v1/admin/indicators/dead-letters"): roles(ALL, NONE, NONE, NONE, NONE),
    ("POST", "/api/v1/admin/indicators/dead-letters/replay"): roles(ALL, NONE, NONE, NONE, NONE),
    ("GET", "/api/v1/admin/notifications/dead-letters"): roles(ALL, NONE, NONE, NONE, NONE),
    ("POST", "/api/v1/admin/notifications/dead-letters/replay"): roles(ALL, NONE, NONE, NONE, NONE),
    # Reconciliation of the indicators service's copy with the households service: nationwide
    # admins only (it covers a whole round).
    ("GET", "/api/v1/admin/households/rounds/{round_id}/ledger"): roles(
        NATIONWIDE, NONE, NONE, NONE, NONE
    ),
    ("POST", "/api/v1/admin/households/rounds/{round_id}/republish"): roles(
        NATIONWIDE, NONE, NONE, NONE, NONE
    ),
    ("POST", "/api/v1/admin/indicators/reconciliations"): roles(NATIONWIDE, NONE, NONE, NONE, NONE),
}


@dataclass
class World:
    """The objects every cell asks about (all in "ours" unless named otherwise)."""

    round_id: str
    household: dict[str, Any]
    theirs: dict[str, Any]
    notification_id: str
    job_id: str
    import_id: str
    user_id: str
    key_id: str
    conflict_id: str
    later_round_id: str = ""
    target_id: str = ""
    what_if_id: str = ""
    subscription_id: str = ""
    team_id: str = ""
    member_id: str = ""
    markers: dict[tuple[str, ...], set[str]] = field(default_factory=dict)

    def path_params(self, path: str) -> dict[str, str]:
        return {
            "round_id": self.round_id,
            "household_id": self.household["id"],
            "unit_code": OURS[1] if path.endswith("/children") else OURS[2],
            "code": OURS[0] if "/provinces/" in path else OURS[2],
            "objection_id": "00000000-0000-4000-8000-000000000000",
            "standard_id": "VN-2022-2025",
            "job_id": self.what_if_id if "/what-if/" in path else self.job_id,
            "from_round_id": self.round_id,
            "to_round_id": self.later_round_id,
            "target_id": self.target_id,
            "notification_id": self.notification_id,
            "import_id": self.import_id,
            "user_id": self.user_id,
            "key_id": self.key_id,
            "conflict_id": self.conflict_id,
            "subscription_id": self.subscription_id,
            "team_id": self.team_id,
            "member_id": self.member_id,
            "support_id": "00000000-0000-4000-8000-000000000003",
            "delivery_id": "00000000-0000-4000-8000-000000000001",
            "item_id": "00000000-0000-4000-8000-000000000002",
            "chart": "rates",
        }


_fresh = itertools.count(1)


async def _seed(platform: Platform) -> World:
    async with platform.client() as admin:
        api = platform_api.Api(admin)
        round_ = await api.open_round()
        households = {}
        for path in (OURS, THEIRS):
            households[path] = await api.register(f"MATRIX-{path[2]}", path[2])
            await api.ok(api.survey(households[path], round_, poor=True), 201)
            await api.population(round_, path[2], 40)
        # The same person in both communes' surveys: a conflict between "ours" and "theirs".
        for path in (OURS, THEIRS):
            survey = platform_api.assessment(poor=True)
            survey["members"][1]["national_id"] = "026190000777"
            url = f"/api/v1/households/{households[path]['id']}/assessments/{round_['id']}"
            await api.ok(admin.put(url, json=survey, headers={"If-Match": '"1"'}))
        [conflict] = (await api.ok(admin.get("/api/v1/assessments/conflicts")))["items"]
        later = await api.open_round()  # for transitions from the world's round
        await platform.settled()
        target = await api.ok(admin.post("/api/v1/targets", json=_target_json()), 201)
        what_if = await api.ok(
            admin.post(
                "/api/v1/what-if",
                json={"round_id": round_["id"], "base_standard_id": "VN-2022-2025"},
            ),
            202,
        )
        notifications = (await api.ok(admin.get("/api/v1/notifications"))).get("items", [])
        by_commune = {n["commune_code"]: n["id"] for n in notifications}
        job = await api.ok(
            admin.post("/api/v1/recalculations", json={"round_id": round_["id"]}), 202
        )
        upload = await api.ok(
            admin.post(
                "/api/v1/imports",
                data={"round_id": round_["id"]},
                files={"file": _upload()},
            ),
            202,
        )
        user = await api.ok(admin.post("/api/v1/admin/users", json=_user_json()), 201)
        key = await api.ok(admin.post("/api/v1/admin/api-keys", json=_key_json()), 201)
        subscription = await api.ok(
            admin.post("/api/v1/subscriptions", json=_subscription_json()), 201
        )
        teams = f"/api/v1/communes/{OURS[2]}/digital-teams"
        team = await api.ok(admin.post(teams, json=_team_json()), 201)
        member = await api.ok(admin.post(f"{teams}/{team['id']}/members", json=_member_json()), 201)
    world = World(
        round_id=round_["id"],
        household=households[OURS],
        theirs=households[THEIRS],
        notification_id=by_commune[OURS[2]],
        job_id=job["id"],
        import_id=upload["id"],
        user_id=user["id"],
        key_id=key["id"],
        conflict_id=conflict["id"],
        subscription_id=subscription["id"],
        later_round_id=later["id"],
        target_id=target["id"],
        what_if_id=what_if["id"],
        team_id=team["id"],
        member_id=member["id"],
    )
    for path in (OURS, THEIRS):
        world.markers[path] = {
            households[path]["id"],
            households[path]["household_code"],
            by_commune[path[2]],
            f'"commune_code":"{path[2]}"',
            f'"unit_code":"{path[2]}"',
        }
    return world


def _upload() -> tuple[str, io.BytesIO, str]:
    """A one-household bulk import file for "ours", with a fresh household code."""
    [item] = generate(
        [Commune(OURS[2], urban=False)],
        households=1,
        seed=next(_fresh),
        reference_date=date(2024, 1, 1),
    )
    line = household_line(
        item._replace(
            household=item.household.model_copy(
                update={"household_code": f"MATRIX-IMPORT-{next(_fresh)}"}
            )
        )
    )
    return ("households.jsonl", io.BytesIO(line.encode() + b"\n"), "application/x-ndjson")


async def _new_login(admin: httpx.AsyncClient) -> dict[str, str]:
    """A fresh user's credentials: logins are rate-limited per user name."""
    user = _user_json()
    assert (await admin.post("/api/v1/admin/users", json=user)).status_code == 201
    return {"username": user["username"], "password": user["password"]}


def _user_json() -> dict[str, Any]:
    n = next(_fresh)
    return {
        "username": f"matrix-user-{n}",
        "password": f"correct horse battery {n}",
        # Country-wide: a scope's units must be in force today, which depends on the unit map
        # loaded; what these rows test does not depend on the user's scope.
        "role": "ministry_analyst",
        "units": None,
    }


def _subscription_json() -> dict[str, Any]:
    # A reminder (no event of the bus fans out to it) by webhook to a closed local port.
    return {
        "event_types": ["reminder.periodic_review_ends"],
        "unit_code": OURS[2],
        "channels": ["inbox", "webhook"],
        "webhook_url": "http://127.0.0.1:9/matrix",
    }


def _target_json() -> dict[str, Any]:
    return {
        "unit_code": OURS[2],
        "kind": "below_by",
        "value_percent": 0.7,
        "baseline_year": 2022,
        "baseline_percent": 0.99,
        "target_year": 2025,
    }


def _team_json() -> dict[str, Any]:
    # Quang Sơn was in force until 30 June 2025.
    return {"name": "Tổ CNS Quang Sơn", "villages": ["Thôn 1"], "active_from": "2024-01-01"}


def _member_json() -> dict[str, Any]:
    return {"full_name": "Trần Thị Lan", "role": "Tổ trưởng", "phone": "0912 345 678"}


def _support_json(world: "World") -> dict[str, Any]:
    return {
        "kind": "device_given",
        "device": "smartphone",
        "given_on": date.today().isoformat(),
        "member_id": world.member_id,
    }


def _context_row_json() -> dict[str, Any]:
    # Of the world round's year: its unit is the world's commune on that year's map.
    return {
        "unit_code": OURS[2],
        "year": 2024,
        "series": "smartphone_households",
        "value": 80.0,
        "source_publisher": "matrix",
        "source_title": "matrix",
        "source_reference": "matrix",
        "source_retrieved_on": "2026-01-01",
    }


def _key_json() -> dict[str, Any]:
    return {"name": f"matrix key {next(_fresh)}", "role": "ministry_analyst", "units": None}


async def _request(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, world: World, method: str, path: str
) -> httpx.Response:
    """One call of the operation, with a body that would succeed for a caller allowed to make it."""
    url = path.format(**world.path_params(path))
    household_url = f"/api/v1/households/{world.household['id']}"
    kwargs: dict[str, Any] = {}
    if path.startswith("/api/v1/subscriptions/{subscription_id}"):
        # The caller's own subscription when it may make one; else the admin's (not theirs).
        made = await client.post("/api/v1/subscriptions", json=_subscription_json())
        if made.is_success:
            url = path.format(**(world.path_params(path) | {"subscription_id": made.json()["id"]}))
    match (method, path):
        case ("POST", "/api/v1/subscriptions"):
            kwargs["json"] = _subscription_json()
        case ("PATCH", "/api/v1/subscriptions/{subscription_id}"):
            kwargs["json"] = {"language": "en"}
        case ("GET", "/api/v1/unsubscribe") | ("POST", "/api/v1/unsubscribe"):
            secret = NotificationSettings().UNSUBSCRIBE_SECRET.get_secret_value()
            kwargs["params"] = {"token": unsubscribe.token(secret, uuid.uuid4())}
        case ("POST", "/api/v1/admin/indicators/reconciliations"):
            kwargs["json"] = {"round_id": world.round_id}
        case ("POST", "/api/v1/auth/token"):
            kwargs["data"] = {"grant_type": "password", **await _new_login(admin)}
        case ("POST", "/api/v1/auth/revoke"):
            form = {"grant_type": "password", **await _new_login(admin)}
            token = await admin.post("/api/v1/auth/token", data=form)
            kwargs["data"] = {"token": token.json()["refresh_token"]}
        case ("POST", "/api/v1/admin/users"):
            kwargs["json"] = _user_json()
        case ("PATCH", "/api/v1/admin/users/{user_id}"):
            kwargs["json"] = {"active": True}
        case ("POST", "/api/v1/admin/api-keys"):
            kwargs["json"] = _key_json()
        case ("POST", "/api/v1/admin/api-keys/{key_id}/revoke"):
            key = await admin.post("/api/v1/admin/api-keys", json=_key_json())
            url = f"/api/v1/admin/api-keys/{key.json()['id']}/revoke"
        case ("POST", "/api/v1/rounds"):
            reference = date(2030, 1, 1) + timedelta(days=next(_fresh))
            kwargs["json"] = {
                "year": 2030,
                "reference_date": reference.isoformat(),
                "standard_id": "VN-2022-2025",
            }
        case ("POST", "/api/v1/households"):
            kwargs["json"] = {
                "household_code": f"MATRIX-NEW-{next(_fresh)}",
                "commune_code": OURS[2],
                "village": "Thôn 2",
            }
        case ("PATCH", "/api/v1/households/{household_id}"):
            current = await admin.get(household_url)
            kwargs["json"] = {"village": f"Thôn {next(_fresh)}"}
            kwargs["headers"] = {"If-Match": current.headers["etag"]}
        case ("PUT", "/api/v1/households/{household_id}/assessments/{round_id}"):
            current = await admin.get(url)
            kwargs["json"] = platform_api.assessment(poor=True)
            kwargs["headers"] = {"If-Match": current.headers["etag"]}
        case ("PUT", "/api/v1/populations/{round_id}/{unit_code}"):
            kwargs["json"] = {"resident_households": 40, "resident_persons": 80}
        case ("POST", "/api/v1/populations/{round_id}/import"):
            kwargs["json"] = [
                {"unit_code": OURS[2], "resident_households": 40, "resident_persons": 80}
            ]
        case ("POST", "/api/v1/imports"):
            kwargs["data"] = {"round_id": world.round_id}
            kwargs["files"] = {"file": _upload()}
        case ("POST", "/api/v1/rounds/{round_id}/communes/{code}/review/steps"):
            kwargs["json"] = {"to": "open"}  # no step leads back to open
        case ("POST", "/api/v1/rounds/{round_id}/communes/{code}/review/reopen"):
            kwargs["json"] = {"reason": "matrix"}  # the review is open, not approved
        case ("POST", "/api/v1/rounds/{round_id}/communes/{code}/meetings"):
            # Meetings are recorded while the commune is surveyed; it is open.
            kwargs["json"] = {
                "village": "Thôn 1",
                "held_on": "2024-11-10",
                "attendance": 10,
                "agreements": [{"household_id": world.household["id"], "agreeing": 10}],
            }
        case ("POST", "/api/v1/rounds/{round_id}/communes/{code}/objections"):
            # Objections are recorded while the lists are posted; they are not.
            kwargs["json"] = {
                "household_id": world.household["id"],
                "lodged_on": "2024-11-21",
                "lodged_by": "Trần Thị Lan",
                "text": "matrix",
            }
        case (
            "POST",
            "/api/v1/rounds/{round_id}/communes/{code}/objections/{objection_id}/recheck",
        ):
            kwargs["json"] = {"outcome": "rejected", "note": "matrix"}
        case ("POST", "/api/v1/assessments/conflicts/{conflict_id}/resolution"):
            kwargs["json"] = {"kept_household_id": world.theirs["id"]}
        case ("POST", "/api/v1/households/relocations"):
            kwargs["json"] = {"unit_code": "01"}
        case ("POST", "/api/v1/households/relocations/{household_id}/assignment"):
            fresh = await admin.post(
                "/api/v1/households",
                json={
                    "household_code": f"MATRIX-MOVE-{next(_fresh)}",
                    "commune_code": OURS[2],
                    "village": "Thôn 3",
                },
            )
            url = f"/api/v1/households/relocations/{fresh.json()['id']}/assignment"
            kwargs["json"] = {
                "commune_code": "08770"
            }  # Xã Hợp Lý of Phú Thọ, Quang Sơn's successor
        case ("POST", "/api/v1/communes/{code}/digital-teams"):
            kwargs["json"] = _team_json()
        case ("PATCH", "/api/v1/communes/{code}/digital-teams/{team_id}"):
            current = await admin.get(url)
            kwargs["json"] = {"villages": [f"Thôn {next(_fresh)}"]}
            kwargs["headers"] = {"If-Match": current.headers["etag"]}
        case ("POST", "/api/v1/communes/{code}/digital-teams/{team_id}/members"):
            kwargs["json"] = _member_json()
        case ("PATCH", "/api/v1/communes/{code}/digital-teams/{team_id}/members/{member_id}"):
            kwargs["json"] = {"role": f"Thành viên {next(_fresh)}"}
        case (
            "POST",
            "/api/v1/communes/{code}/digital-teams/{team_id}/members/{member_id}/deactivation",
        ):
            # A member of its own: the world's member keeps giving support for the other cells.
            members = f"/api/v1/communes/{OURS[2]}/digital-teams/{world.team_id}/members"
            fresh = await admin.post(members, json=_member_json())
            url = f"{members}/{fresh.json()['id']}/deactivation"
            kwargs["json"] = {"left_on": date.today().isoformat()}
        case ("POST", "/api/v1/households/{household_id}/support"):
            kwargs["json"] = _support_json(world)
        case ("POST", "/api/v1/households/{household_id}/support/{support_id}/withdrawal"):
            # A record of its own to withdraw: a record is withdrawn once.
            fresh = await admin.post(f"{household_url}/support", json=_support_json(world))
            url = f"{household_url}/support/{fresh.json()['id']}/withdrawal"
            kwargs["json"] = {"reason": "matrix"}
        case ("POST", "/api/v1/targets"):
            kwargs["json"] = _target_json()
        case ("DELETE", "/api/v1/targets/{target_id}"):
            # A target of its own: the world's stays for the other cells.
            fresh = await admin.post("/api/v1/targets", json=_target_json())
            url = f"/api/v1/targets/{fresh.json()['id']}"
        case ("POST", "/api/v1/context-series/import"):
            kwargs["json"] = [_context_row_json()]
        case ("POST", "/api/v1/what-if"):
            kwargs["json"] = {"round_id": world.round_id, "base_standard_id": "VN-2022-2025"}
        case ("GET", "/api/v1/assessments"):
            kwargs["params"] = {"round_id": world.round_id}
        case ("POST", "/api/v1/recalculations"):
            kwargs["json"] = {"round_id": world.round_id}
        case ("POST", "/api/v1/reports/jobs"):
            kwargs["json"] = {"round_id": world.round_id, "unit_code": OURS[2]}
        case ("POST", "/api/v1/admin/indicators/dead-letters/replay") | (
            "POST",
            "/api/v1/admin/notifications/dead-letters/replay",
        ):
            kwargs["json"] = {"message_ids": []}
    return await client.request(method, url, **kwargs)


def _outcome(response: httpx.Response) -> str:
    return OK if response.is_success else str(response.status_code)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    data_dir = tmp_path_factory.mktemp("matrix")
    # Hundreds of calls from one address: the login limit would answer for the token rows.
    settings = embedded_gateway_settings(data_dir).model_copy(
        update={"LOGIN_ATTEMPTS_BURST": 1000, "RATE_LIMIT_BURST": 10_000}
    )
    async with running_platform(
        data_dir,
        gateway_settings=settings,
        notifications_overrides={"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"]},
    ) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(platform: Platform) -> World:
    return await _seed(platform)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def operations(platform: Platform) -> set[tuple[str, str]]:
    async with platform.client() as client:
        document = (await client.get("/openapi.json")).json()
    methods = {"get", "post", "put", "patch", "delete"}
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    }


async def test_every_operation_has_its_row(operations: set[tuple[str, str]]) -> None:
    """A new route must be given its expected outcomes here before it can ship."""
    assert operations - set(MATRIX) == set(), "operations without a row in MATRIX"
    assert set(MATRIX) - operations == set(), "rows for operations that no longer exist"


async def test_every_cell_answers_as_written(
    platform: Platform, world: World, operations: set[tuple[str, str]]
) -> None:
    unexpected: list[str] = []
    leaks: list[str] = []
    cells = 0
    async with platform.client() as admin:
        for method, path in sorted(operations & set(MATRIX)):
            expected = MATRIX[(method, path)]
            callers: list[tuple[str, Caller | None, str]] = [
                ("anonymous", None, OK if expected == PUBLIC else UNAUTHENTICATED)
            ]
            for role in ROLES:
                for kind, units in (("in", IN_SCOPE[role]), ("out", OUT_OF_SCOPE)):
                    if expected == PUBLIC:
                        want = OK
                    else:
                        assert isinstance(expected, dict)
                        want = expected[role][0 if kind == "in" else 1]
                    caller = Caller(subject=f"matrix-{role}-{kind}", role=role, unit_scope=units)
                    callers.append((f"{role.value}/{kind}", caller, want))
            for name, caller, want in callers:
                role = caller.role if caller else None
                units = caller.unit_scope if caller else None
                subject = caller.subject if caller else None
                async with platform.client(role, units, subject=subject) as client:
                    response = await _request(client, admin, world, method, path)
                cells += 1
                got = _outcome(response)
                if got != want:
                    unexpected.append(
                        f"{method} {path} as {name}: expected {want}, got {response.status_code}"
                        f" {response.text[:200]}"
                    )
                if got == OK and caller is not None:
                    leaks.extend(
                        f"{method} {path} as {name} shows {marker}"
                        for marker in hidden_markers(world, caller)
                        if marker in response.text
                    )
    print(f"authorisation matrix: {cells} cells, {len(unexpected)} unexpected")  # noqa: T201
    assert unexpected == [], "\n".join(unexpected)
    assert leaks == [], "\n".join(leaks)
    assert cells == (len(ROLES) * 2 + 1) * len(MATRIX)


def hidden_markers(world: World, caller: Caller) -> set[str]:
    """Identifiers of the objects outside the caller's scope."""
    return set().union(
        *(markers for path, markers in world.markers.items() if not caller.may_see(path))
    )
