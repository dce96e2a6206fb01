"""The information dimension (#11 telecom use, #12 information devices): each, and both, among
all surveyed households and among the poor and near-poor, counted from the households'
classifications by hand and compared with the API; the same after a full recalculation, which
is how rounds counted before these counters existed get them."""

from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import HouseholdClassification
from indicators.figures.models import UnitFigure
from indicators.recalculation import service as recalculation_service
from kit.auth import Caller, Role

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
INFORMATION = ("telecom_use", "information_devices")
ROUND = UUID("00000000-0000-4000-8000-0000000000c1")  # the round of conftest.py
AsRole = Callable[..., httpx.AsyncClient]
NEW_COUNTERS = ("deprived_together.", "deprived.average.", "deprived.not_poor.")


async def _by_hand(sessionmaker: async_sessionmaker[AsyncSession], unit: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    async with sessionmaker() as session:
        rows = (await session.exec(select(HouseholdClassification))).all()
    for row in rows:
        if unit not in row.unit_path:
            continue
        keys = {item["key"] for item in row.result["deprived"]}
        groups = ["all", row.household_class]
        for group in groups:
            counts[f"{group}.households"] += 1
            for key in INFORMATION:
                counts[f"{group}.{key}"] += key in keys
            counts[f"{group}.together"] += all(key in keys for key in INFORMATION)
            counts[f"{group}.any"] += any(key in keys for key in INFORMATION)
    return counts


def _answered(answer: dict[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for group in ("all", "poor", "near_poor", "average", "not_poor"):
        if group not in answer["groups"]:
            continue
        data = answer["groups"][group]
        counts[f"{group}.households"] = data["households"]
        for item in data["indicators"]:
            counts[f"{group}.{item['key']}"] = item["households"]
        counts[f"{group}.together"] = data["together"]["households"]
        counts[f"{group}.any"] = data["any"]["households"]
    return counts


async def test_each_and_both_among_all_and_the_poor_and_near_poor_as_counted_by_hand(
    as_role: AsRole,
    sessionmaker: async_sessionmaker[AsyncSession],
    province: dict[str, list[str]],
) -> None:
    admin = as_role(Role.ADMIN)
    expected = await _by_hand(sessionmaker, "26")
    assert expected["all.together"] > 0  # the synthetic province has some
    answer = (await admin.get(f"/api/v1/information/{ROUND}/26")).json()
    got = _answered(answer)
    for key, value in got.items():
        assert value == expected[key], key
    share = answer["groups"]["all"]["together"]["share_percent"]
    assert share == round(100 * expected["all.together"] / expected["all.households"], 4)


async def test_a_recalculation_fills_the_counters_of_a_round_counted_without_them(
    as_role: AsRole,
    sessionmaker: async_sessionmaker[AsyncSession],
    province: dict[str, list[str]],
) -> None:
    admin = as_role(Role.ADMIN)
    before = (await admin.get(f"/api/v1/information/{ROUND}/26")).json()
    async with sessionmaker() as session, session.begin():
        for row in (await session.exec(select(UnitFigure))).all():
            if row.metric.startswith(
                ("deprived_together.", "deprived.average.", "deprived.not_poor.")
            ):
                await session.delete(row)
    emptied = (await admin.get(f"/api/v1/information/{ROUND}/26")).json()
    assert emptied["groups"]["all"]["together"]["households"] == 0
    async with sessionmaker() as session, session.begin():
        job = await recalculation_service.request(session, ROUND, Caller("t", Role.ADMIN, None))
    await recalculation_service.run(sessionmaker, job.id)
    after = (await admin.get(f"/api/v1/information/{ROUND}/26")).json()
    assert after["groups"] == before["groups"]


async def test_the_trend_lists_the_round_and_the_analyst_gets_perturbed_counts(
    as_role: AsRole, province: dict[str, list[str]]
) -> None:
    trend = (await as_role(Role.ADMIN).get("/api/v1/information/trend/26")).json()["items"]
    assert [item["round_id"] for item in trend] == [str(ROUND)]
    analyst = (await as_role(Role.MINISTRY_ANALYST).get(f"/api/v1/information/{ROUND}/26")).json()
    assert analyst["disclosure"]["method"] == "cell_key"
    children = (
        await as_role(Role.MINISTRY_ANALYST).get(f"/api/v1/information/{ROUND}/26/children")
    ).json()["items"]
    for group in ("all", "poor", "near_poor"):
        total = analyst["groups"][group]["together"]["households"]
        assert total == sum(c["groups"][group]["together"]["households"] for c in children)


async def test_figures_say_how_fresh_they_are(
    as_role: AsRole,
    sessionmaker: async_sessionmaker[AsyncSession],
    province: dict[str, list[str]],
) -> None:
    admin: httpx.AsyncClient = as_role(Role.ADMIN)
    figures = (await admin.get(f"/api/v1/figures/{ROUND}/26")).json()
    assert figures["freshness"]["reflects_events_until"] == figures["as_of"]
    assert figures["freshness"]["recalculation"] is None
    async with sessionmaker() as session, session.begin():
        job = await recalculation_service.request(session, ROUND, Caller("t", Role.ADMIN, None))
    pending = (await admin.get(f"/api/v1/figures/{ROUND}/26/children")).json()["items"]
    assert {item["freshness"]["recalculation"]["id"] for item in pending} == {str(job.id)}
    assert pending[0]["freshness"]["recalculation"]["status"] == "queued"
