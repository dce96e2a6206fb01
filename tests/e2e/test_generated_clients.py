"""Clients generated from the merged OpenAPI document, as an integrator would make them.

The embedded platform serves `/openapi.json`; openapi-python-client (pinned in the root dev
group) turns it into a Python package, which then runs the README's walk-through against the
same platform: log in, open a round, record the commune's population, register a household,
record its survey (`docs/examples/survey.json`), read its class and the commune's figures.
openapi-typescript (from the npm registry) turns it into TypeScript types, and the TypeScript
compiler checks the survey example against them. A document that stops generating, or whose
generated client cannot do the walk-through, fails here.
"""

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import pytest_asyncio

from launcher.demo_users import ensure_demo_users
from launcher.embedded import Platform, running_platform

ROOT = Path(__file__).resolve().parents[2]
SURVEY = ROOT / "docs" / "examples" / "survey.json"
PACKAGE = "poverty_platform_client"
OPENAPI_TYPESCRIPT = "openapi-typescript@7.13.0"
TYPESCRIPT = "typescript@5.9.3"  # openapi-typescript 7 asks for TypeScript 5
COMMUNE = "08707"


@pytest_asyncio.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    async with running_platform(tmp_path / "data") as running:
        await ensure_demo_users(running.gateway_sessionmaker)
        yield running


def gateway_client(platform: Platform, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.gateway),
        base_url="http://gateway",
        headers=headers,
    )


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Path]:
    """A folder to generate into, importable while the test runs."""
    folder = tmp_path / "generated"
    folder.mkdir()
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def generate_python_client(document: Path, folder: Path) -> ModuleType:
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [
            *(str(generator), "generate", "--path", str(document), "--meta", "none"),
            *("--output-path", str(folder / PACKAGE)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return importlib.import_module(PACKAGE)


async def test_the_generated_python_client_runs_the_walk_through(
    platform: Platform, tmp_path: Path, generated: Path
) -> None:
    async with gateway_client(platform) as anonymous:
        document = (await anonymous.get("/openapi.json")).json()
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    generate_python_client(path, generated)
    # The modules an integrator types are named after the operation ids.
    api = importlib.import_module(f"{PACKAGE}.api")
    models = importlib.import_module(f"{PACKAGE}.models")
    client_module = importlib.import_module(f"{PACKAGE}.client")
    auth = importlib.import_module(f"{PACKAGE}.api.auth.issue_token")
    rounds = importlib.import_module(f"{PACKAGE}.api.rounds.open_round")
    populations = importlib.import_module(f"{PACKAGE}.api.populations.record_population")
    register = importlib.import_module(f"{PACKAGE}.api.households.register_household")
    record = importlib.import_module(f"{PACKAGE}.api.households.record_assessment")
    classification = importlib.import_module(f"{PACKAGE}.api.classifications.get_classification")
    figures = importlib.import_module(f"{PACKAGE}.api.figures.get_unit_figures")
    assert api is not None

    async def log_in(username: str) -> Any:
        async with gateway_client(platform) as http:
            client = client_module.Client(base_url="http://gateway")
            client.set_async_httpx_client(http)
            body = models.BodyIssueToken.from_dict(
                {"grant_type": "password", "username": username, "password": f"{username}-demo"}
            )
            tokens = await auth.asyncio(client=client, body=body)
        assert isinstance(tokens, models.TokenResponse), tokens
        authenticated = client_module.AuthenticatedClient(
            base_url="http://gateway", token=tokens.access_token
        )
        return authenticated.set_async_httpx_client(gateway_client(platform, tokens.access_token))

    admin = await log_in("admin")
    opened = await rounds.asyncio(
        client=admin,
        body=models.RoundCreate.from_dict(
            {"year": 2025, "reference_date": "2025-11-01", "standard_id": "VN-2022-2025"}
        ),
    )
    assert isinstance(opened, models.RoundRead), opened
    recorded_population = await populations.asyncio(
        opened.id,
        COMMUNE,
        client=admin,
        body=models.PopulationInput(resident_households=1850, resident_persons=6400),
    )
    assert isinstance(recorded_population, models.PopulationRead), recorded_population

    commune = await log_in("commune")
    household = await register.asyncio(
        client=commune,
        body=models.HouseholdCreate(
            household_code="VY-0001", commune_code=COMMUNE, village="Tổ dân phố 3"
        ),
    )
    assert isinstance(household, models.HouseholdRead), household
    survey = models.AssessmentInput.from_dict(json.loads(SURVEY.read_text(encoding="utf-8")))
    surveyed = await record.asyncio(household.id, opened.id, client=commune, body=survey)
    assert isinstance(surveyed, models.AssessmentRead), surveyed
    assert surveyed.area == models.Area.URBAN  # Phường Vĩnh Yên is a ward

    await platform.settled()
    result = await classification.asyncio(opened.id, household.id, client=commune)
    assert isinstance(result, models.HouseholdClassificationRead), result
    # 2,100,000 VND a month in a town: above the line (2,000,000), within the average band.
    assert result.household_class == models.HouseholdClass.AVERAGE
    unit = await figures.asyncio(opened.id, COMMUNE, client=commune)
    assert isinstance(unit, models.UnitFigures), unit
    assert unit.total.households.surveyed == 1
    assert unit.total.households.resident == 1850
    for client in (admin, commune):
        await client.get_async_httpx_client().aclose()


def test_the_typescript_types_accept_the_survey_example(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the TypeScript types (openapi-typescript) not checked")
    from launcher.openapi import build_document  # builds every app: only when npm is there

    (tmp_path / "openapi.json").write_text(json.dumps(build_document()), encoding="utf-8")
    installed = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", OPENAPI_TYPESCRIPT, TYPESCRIPT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    unreachable = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET")
    if installed.returncode != 0 and any(code in installed.stderr for code in unreachable):
        pytest.skip(f"the npm registry is unreachable: {installed.stderr.strip()[-300:]}")
    assert installed.returncode == 0, installed.stderr
    tools = tmp_path / "node_modules" / ".bin"
    typed = subprocess.run(
        # A property with a default may be left out of a request: not required in the types.
        [
            *(str(tools / "openapi-typescript"), "openapi.json", "-o", "platform.d.ts"),
            *("--default-non-nullable", "false"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
    survey = SURVEY.read_text(encoding="utf-8")
    (tmp_path / "walk_through.ts").write_text(
        'import type { components, operations } from "./platform";\n'
        'type Survey = components["schemas"]["AssessmentInput"];\n'
        f"export const survey: Survey = {survey};\n"
        'export type Recorded = operations["recordAssessment"]["responses"][200]'
        '["content"]["application/json"];\n',
        encoding="utf-8",
    )
    checked = subprocess.run(
        [str(tools / "tsc"), "--noEmit", "--strict", "walk_through.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
