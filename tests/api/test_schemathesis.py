"""Schemathesis against the merged OpenAPI document, through the gateway, as a country-wide admin.

Every operation of `/openapi.json` goes through the examples, coverage and fuzzing phases, then
sequences of calls through the stateful phase (links inferred from the document), all with a
fixed seed and derandomised, and every response meets every check: no server error, documented
status codes, content types, headers and bodies, schema-valid input accepted and invalid input
rejected. The platform is the embedded one, reached in-process.

`SCHEMATHESIS_MAX_EXAMPLES` raises the fuzzing examples per operation for a longer local run
(`SCHEMATHESIS_MAX_EXAMPLES=200 .venv/bin/pytest tests/api/test_schemathesis.py`).
"""

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import AuthContext, Case, Response
from schemathesis.errors import FailureGroup
from support.platform_thread import PlatformThread

from kit.auth import Role
from launcher.embedded import embedded_gateway_settings

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5"))
SEED = 20250701
UNLIMITED = 1_000_000

# Schema-valid input that names something that must exist (a commune, a poverty standard, a
# round) or breaks a rule across fields (a commune officer needs units, a password login needs a
# username, no fewer persons than households) is refused with 422 and the rule that failed: no
# schema can say which communes exist. A change to a household or its survey needs the ETag last
# read (If-Match): without it 428, with an older one 412, which no schema can say either. For
# these operations only, those statuses are accepted answers to schema-valid data; every other
# check, and every other status they may answer, stays as it is.
RULE = "422"
PRECONDITION = ["412", "428"]
REFUSED_VALID_INPUT: dict[str, list[str]] = {
    "POST /api/v1/auth/token": [RULE],
    "POST /api/v1/admin/users": [RULE],
    "PATCH /api/v1/admin/users/{user_id}": [RULE],
    "POST /api/v1/admin/api-keys": [RULE],
    "POST /api/v1/rounds": [RULE],
    "POST /api/v1/households": [RULE],
    "PATCH /api/v1/households/{household_id}": [RULE, *PRECONDITION],
    "PUT /api/v1/households/{household_id}/assessments/{round_id}": [RULE, *PRECONDITION],
    "PUT /api/v1/populations/{round_id}/{unit_code}": [RULE],
    "POST /api/v1/populations/{round_id}/import": [RULE],
    "POST /api/v1/imports": [RULE],
    # Text filters refuse control and invisible characters (as every text field does).
    "GET /api/v1/households": [RULE],
    # A round the indicators service has had no survey of has nothing to recalculate.
    "POST /api/v1/recalculations": [RULE],
    # Only into a unit in force; only one of the household's old commune's successors.
    "POST /api/v1/households/relocations": [RULE],
    "POST /api/v1/households/relocations/{household_id}/assignment": [RULE],
    # A step to `posted` needs the posting period; meetings and objections name surveyed households.
    "POST /api/v1/rounds/{round_id}/communes/{code}/review/steps": [RULE],
    "POST /api/v1/rounds/{round_id}/communes/{code}/meetings": [RULE],
    "POST /api/v1/rounds/{round_id}/communes/{code}/objections": [RULE],
    # Only for units of the caller's scope that have figures (no schema says which); a CSV is one
    # report (`report` then required); a province's reports are generated as a job.
    "GET /api/v1/reports/{round_id}/{unit_code}": [RULE],
    "POST /api/v1/reports/jobs": [RULE],
    # A unit of the scope that has figures, a baseline from them. (Every creating POST: an
    # Idempotency-Key used with another request.)
    "POST /api/v1/targets": [RULE],
    # The draft (changes merged into the base standard) is validated as a shipped standard is.
    "POST /api/v1/what-if": [RULE],
    # Event types of the catalogue, a unit within the scope, a URL that may be called, the address
    # a channel needs; an unsubscribe link this platform signed.
    "POST /api/v1/subscriptions": [RULE],
    "PATCH /api/v1/subscriptions/{subscription_id}": [RULE],
    "POST /api/v1/subscriptions/{subscription_id}/secret": [RULE],
    # An Idempotency-Key the run already used with another request (another path).
    "POST /api/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver": [RULE],
    "GET /api/v1/unsubscribe": [RULE],
    "POST /api/v1/unsubscribe": [RULE],
    # A team starts on a day its commune is in force, ends after it starts; a field that cannot
    # be null is left out rather than nulled.
    "POST /api/v1/communes/{code}/digital-teams": [RULE],
    "PATCH /api/v1/communes/{code}/digital-teams/{team_id}": [RULE, *PRECONDITION],
    "PATCH /api/v1/communes/{code}/digital-teams/{team_id}/members/{member_id}": [RULE],
    # Support: a day neither in the future nor before the household's registration, a member of
    # a team of the household's commune active that day, what the kind asks for.
    "POST /api/v1/households/{household_id}/support": [RULE],
    # (An Idempotency-Key the run already used with another request, as for every POST.)
    "POST /api/v1/communes/{code}/digital-teams/{team_id}/members": [RULE],
    "POST /api/v1/communes/{code}/digital-teams/{team_id}/members/{member_id}/deactivation": [RULE],
    "POST /api/v1/households/{household_id}/support/{support_id}/withdrawal": [RULE],
    # Context series: a unit of that year's map within the scope (no schema says which); `to`
    # not before `from`.
    "POST /api/v1/context-series/import": [RULE],
    "GET /api/v1/context-series/{unit_code}": [RULE],
}
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# `PUT /populations/{round_id}/{unit_code}` matches the path `/populations/{round_id}/import` by
# its shape, so `Allow` there names PUT too (the unit code pattern then refuses it with 422); so
# does `GET /context-series/{unit_code}` for `/context-series/import`, where a GET is then that
# read for a unit named "import" (422, not 405). The checks compare the methods documented for
# the literal path only.
SHARED_PATHS = {
    "POST /api/v1/populations/{round_id}/import": ["allow_header_conformance"],
    "POST /api/v1/context-series/import": ["allow_header_conformance", "unsupported_method"],
}

# Real values, drawn half of the time where these fields appear, so that generated calls also
# open rounds and register households that later calls (and the stateful phase) build on.
DICTIONARIES = {
    "standards": {"values": ["VN-2022-2025", "VN-2027-2030"]},
    # A round's reference date falls in its year or the next.
    "years": {"values": [2024, 2025]},
    "reference_dates": {"values": ["2024-11-01", "2025-10-01"]},
    "communes": {"values": ["08707", "08764"]},
    # Vĩnh Phúc, its district 243 and two of its communes (pre-July-2025 units, seeded).
    "units": {"values": ["26", "243", "08707", "08764"]},
}
BINDINGS = {
    "body.standard_id": "standards",
    "body.year": "years",
    "body.reference_date": "reference_dates",
    "body.commune_code": "communes",
    "path.unit_code": "units",
    "query.unit_code": "units",
}

CONFIG: dict[str, Any] = {
    "seed": SEED,
    "dictionaries": DICTIONARIES,
    "parameters": {key: {"dictionary": name, "probability": 0.5} for key, name in BINDINGS.items()},
    "generation": {"deterministic": True, "database": "none", "max-examples": MAX_EXAMPLES},
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        # A sequence is a few cheap calls: more of them than of fuzzed calls per operation.
        "stateful": {
            "enabled": True,
            "max-steps": 8,
            "generation": {"max-examples": 4 * MAX_EXAMPLES},
        },
    },
    "checks": {"enabled": True},
    "continue-on-failure": True,
    "operations": [
        *(
            {
                "include-name": name,
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, *also]}
                },
            }
            for name, also in REFUSED_VALID_INPUT.items()
        ),
        *(
            {"include-name": path, "checks": {check: {"enabled": False} for check in checks}}
            for path, checks in SHARED_PATHS.items()
        ),
    ],
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformThread]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    # One caller sends every request, many more than a person would: no rate limit gets in the
    # way (a refused request would still be a documented 429, but would test nothing).
    settings = embedded_gateway_settings(
        data_dir,
        RATE_LIMIT_PER_SECOND=UNLIMITED,
        RATE_LIMIT_BURST=UNLIMITED,
        LOGIN_ATTEMPTS_PER_MINUTE=UNLIMITED,
        LOGIN_ATTEMPTS_BURST=UNLIMITED,
        LOGIN_FREE_FAILURES=UNLIMITED,
    )
    with PlatformThread(data_dir, gateway_settings=settings) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(running: PlatformThread) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_asgi(
        "/openapi.json", running.gateway(), config=schemathesis.Config.from_dict(CONFIG)
    )
    platform = running.platform
    settings = platform.gateway_settings

    class CountryWideAdmin:
        """A token minted by the platform's key: an admin over every unit."""

        def get(self, case: Case, context: AuthContext) -> str:
            return platform.signing_key.issue(
                issuer=settings.AUTH_ISSUER,
                audience=settings.AUTH_AUDIENCE,
                subject="schemathesis",
                role=Role.ADMIN,
                unit_scope=None,
                lifetime=timedelta(minutes=settings.ACCESS_TOKEN_MINUTES),
            )

        def set(self, case: Case, data: str, context: AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    # Well within the token's lifetime, for long local runs.
    loaded.auth(refresh_interval=60)(CountryWideAdmin)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Case) -> None:
    case.call_and_validate()


def test_sequences_of_calls_keep_their_contract(api_schema: schemathesis.BaseSchema) -> None:
    failures: dict[tuple[tuple[str, str], ...], FailureGroup] = {}
    scenarios = 0

    class Sequences(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            nonlocal scenarios
            scenarios += 1
            super().setup()

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            # Kept, not raised: Hypothesis would replay the failing sequence against data that
            # has moved on since, and report that as flaky instead of what failed.
            try:
                super().validate_response(response, case, additional_checks, **kwargs)
            except FailureGroup as group:
                key = tuple(sorted((str(f.operation), f.title) for f in group.exceptions))
                failures.setdefault(key, group)

    settings = hypothesis.settings(
        api_schema.config.get_hypothesis_settings(phase="stateful"),
        phases=[hypothesis.Phase.generate],
    )
    # Which calls may follow depends on what the platform answered, and its data grows with every
    # sequence: once Hypothesis steers back to a start it tried, the platform answers differently,
    # the choices no longer line up, and it stops (FlakyStrategyDefinition). Schemathesis's own
    # runner then starts again with the next seed; so does this, until the sequences add up.
    for suite in range(settings.max_examples):
        try:
            hypothesis.seed(SEED + suite)(Sequences).run(settings=settings)
            break
        except FlakyStrategyDefinition:
            if scenarios >= settings.max_examples:
                break
    if failures:
        pytest.fail("\n\n".join(str(group) for group in failures.values()), pytrace=False)
