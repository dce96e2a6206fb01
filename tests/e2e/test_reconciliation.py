"""Reconciliation on the embedded platform: the indicators service proves its copy of a round
against the households service's figures, finds what it lost, and has the round re-published to
rebuild it."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from sqlmodel import delete
from support.platform_api import Api, surveyed

from indicators.classification.models import AssessmentCopy
from kit.auth import Role
from launcher.embedded import Platform, running_platform

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUANG_SON, HOI_HOP = "08764", "08713"
RECONCILIATIONS = "/api/v1/admin/indicators/reconciliations"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    data_dir: Path = tmp_path_factory.mktemp("reconciliation")
    async with running_platform(data_dir) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def api(platform: Platform) -> AsyncIterator[Api]:
    async with platform.client() as client:
        yield Api(client)


async def surveyed_round(api: Api, platform: Platform) -> tuple[dict[str, Any], list[str]]:
    """A round with two surveys in Quang Sơn and one in Hội Hợp, every event handled."""
    round_ = await api.open_round()
    ids = []
    for n, commune in enumerate((QUANG_SON, QUANG_SON, HOI_HOP)):
        household = await api.register(f"REC-{round_['id'][:8]}-{n}", commune)
        ids.append((await api.ok(api.survey(household, round_, poor=n == 0), 201))["id"])
    await platform.settled()
    return round_, ids


async def reconcile(api: Api, round_: dict[str, Any], **body: Any) -> dict[str, Any]:
    return await api.ok(api.client.post(RECONCILIATIONS, json={"round_id": round_["id"], **body}))


async def test_a_consistent_copy_matches(api: Api, platform: Platform) -> None:
    round_, _ = await surveyed_round(api, platform)

    assert await reconcile(api, round_) == {
        "round_id": round_["id"],
        "matching": True,
        "differences": [],
        "republished": None,
    }


async def test_a_lost_copy_is_reported_and_rebuilt_by_republishing(
    api: Api, platform: Platform
) -> None:
    round_, [lost, *_] = await surveyed_round(api, platform)
    figures_before = await api.figures(round_, QUANG_SON)
    async with platform.indicators_sessionmaker() as session, session.begin():
        await session.exec(delete(AssessmentCopy).where(AssessmentCopy.assessment_id == UUID(lost)))  # type: ignore[call-overload]

    found = await reconcile(api, round_)

    assert found == {
        "round_id": round_["id"],
        "matching": False,
        "differences": [
            {
                "commune_code": QUANG_SON,
                "households": {"source": 2, "copy": 1},
                "checksum_matches": False,
            }
        ],
        "republished": None,
    }

    repairing = await reconcile(api, round_, republish=True)
    assert repairing["matching"] is False
    assert repairing["republished"] == 3  # every survey of the round, once
    await platform.settled()

    assert (await reconcile(api, round_))["matching"] is True
    # The surveys the copy still held were skipped as stale, the lost one taken again in place
    # of its classification: nothing is counted twice.
    figures_after = await api.figures(round_, QUANG_SON)
    assert surveyed(figures_after) == surveyed(figures_before) == 2
    assert figures_after == figures_before


async def test_an_unknown_round_is_not_found(api: Api) -> None:
    response = await api.client.post(RECONCILIATIONS, json={"round_id": str(uuid4())})

    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_only_an_administrator_may_reconcile(platform: Platform) -> None:
    async with platform.client(Role.MINISTRY_ANALYST) as analyst:
        response = await analyst.post(RECONCILIATIONS, json={"round_id": str(uuid4())})

    assert response.status_code == 403, response.text
