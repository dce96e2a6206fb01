"""Names of classes, indicators and dimensions in the language asked for (`Accept-Language`)."""

from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Role

from ..test_access import ROUND, TICH_SON, AsRole, _survey


@pytest.fixture
async def poor(sessionmaker: async_sessionmaker[AsyncSession]) -> UUID:
    """A poor household of Tích Sơn, deprived in health insurance and in information."""
    return (await _survey(sessionmaker, TICH_SON, poor=1, not_poor=0))["poor"][0]


async def _classification(
    client: httpx.AsyncClient, household: UUID, **headers: str
) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/classifications/{ROUND}/{household}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_a_classification_names_its_class_and_indicators_in_vietnamese(
    poor: UUID, as_role: AsRole
) -> None:
    officer = as_role(Role.COMMUNE_OFFICER, "08707")
    read = await _classification(officer, poor, **{"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"})
    assert read["household_class_name"] == "Hộ nghèo"
    assert read["indicator_names"]["health_insurance"] == "Bảo hiểm y tế"
    assert set(read["indicator_names"]) == {item["key"] for item in read["result"]["deprived"]}


async def test_english_is_the_default(poor: UUID, as_role: AsRole) -> None:
    officer = as_role(Role.COMMUNE_OFFICER, "08707")
    read = await _classification(officer, poor)
    assert read["household_class_name"] == "Poor household"
    assert read["indicator_names"]["health_insurance"] == "Health insurance"


async def test_figures_name_indicators_and_dimensions_in_the_language_asked(
    poor: UUID, as_role: AsRole
) -> None:
    officer = as_role(Role.COMMUNE_OFFICER, "08707")
    url = f"/api/v1/figures/{ROUND}/08707"
    vietnamese = (await officer.get(url, headers={"Accept-Language": "vi"})).json()
    english = (await officer.get(url)).json()
    names = {row["key"]: row["name"] for row in vietnamese["deprivation"]["poor"]["indicators"]}
    assert names["health_insurance"] == "Bảo hiểm y tế"
    dimensions = {row["key"]: row["name"] for row in english["deprivation"]["poor"]["dimensions"]}
    assert dimensions["health"] == "Health"
