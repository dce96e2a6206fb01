"""Units resolved on the round's reference date wherever a round is entered: a round of the
2026 review takes the communes in force since July 2025 and refuses a merged commune's old code,
naming its successor."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox

VINH_PHUC_NEW = "08716"  # Phường Vĩnh Phúc, Phú Thọ (25), from 2025-07-01
THANH_TRU = "08731"  # Xã Thanh Trù, Vĩnh Yên (243), Vĩnh Phúc (26), until 2025-06-30
MERGED = (
    "No commune '08731' exists on 2026-01-15; "
    "it was merged into 08707 (Phường Vĩnh Yên) on 2025-07-01."
)


def survey_json() -> dict[str, Any]:
    """A one-member household's survey, valid under VN-2022-2025."""
    head = {
        "full_name": "Nguyễn Văn Hùng",
        "national_id": None,
        "birth_date": "1979-03-15",
        "sex": "male",
        "relation_to_head": "head",
        "working_status": "self_employed",
        "has_health_insurance": True,
        "highest_qualification": "upper_secondary",
    }
    return {
        "members": [head],
        "dwelling": {
            "walls_durable": True,
            "columns_durable": True,
            "roof_durable": True,
            "floor_area_m2": 54.0,
        },
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": True,
        "devices": ["tv", "smartphone"],
        "income_score_a": 180,
    }


@pytest.fixture
async def round_2026(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/api/v1/rounds",
        json={"year": 2026, "reference_date": "2026-01-15", "standard_id": "VN-2022-2025"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def register(client: httpx.AsyncClient, commune_code: str) -> str:
    response = await client.post(
        "/api/v1/households",
        json={
            "household_code": f"HH-{uuid4().hex[:8]}",
            "commune_code": commune_code,
            "village": "Tổ dân phố 1",
            "head_name": "Nguyễn Văn Hùng",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def staged(sessionmaker: async_sessionmaker[AsyncSession], kind: str) -> list[Any]:
    statement = select(outbox.c.envelope).where(outbox.c.type == kind)
    async with sessionmaker() as session:
        return list(await session.exec(statement.order_by(outbox.c.position)))


class TestPopulation:
    async def test_a_new_commune_is_accepted_with_its_two_level_path(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_2026: str,
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_2026}/{VINH_PHUC_NEW}",
            json={"resident_households": 9_800, "resident_persons": 35_100},
        )

        assert response.status_code == 201, response.text
        [envelope] = await staged(sessionmaker, "households.population.recorded.v1")
        assert (envelope["data"]["unit_path"], envelope["data"]["area"]) == (
            ["25", VINH_PHUC_NEW],
            "urban",
        )

    async def test_a_merged_communes_old_code_is_refused_naming_its_successor(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_2026: str,
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_2026}/{THANH_TRU}",
            json={"resident_households": 1_000, "resident_persons": 4_000},
        )

        assert response.status_code == 422
        assert response.json()["detail"] == MERGED
        assert await staged(sessionmaker, "households.population.recorded.v1") == []


class TestSurvey:
    async def test_a_household_in_a_new_commune_is_surveyed(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_2026: str,
    ) -> None:
        household_id = await register(client, VINH_PHUC_NEW)

        response = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2026}", json=survey_json()
        )

        assert response.status_code == 201, response.text
        [envelope] = await staged(sessionmaker, "households.assessment.recorded.v1")
        data = envelope["data"]
        assert (data["commune_name"], data["unit_path"], data["area"]) == (
            "Phường Vĩnh Phúc",
            ["25", VINH_PHUC_NEW],
            "urban",
        )

    async def test_a_household_left_in_a_merged_commune_is_refused_naming_its_successor(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_2026: str,
    ) -> None:
        household_id = await register(client, THANH_TRU)

        response = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2026}", json=survey_json()
        )

        assert response.status_code == 422
        assert response.json()["detail"] == MERGED
        assert await staged(sessionmaker, "households.assessment.recorded.v1") == []


class TestReusedCode:
    async def test_a_survey_carries_the_path_of_the_commune_on_the_reference_date(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        # 08707 is Phường Vĩnh Yên (25) today, Phường Tích Sơn (26 / 243) in 2024.
        household_id = await register(client, "08707")
        response = await client.post(
            "/api/v1/rounds",
            json={"year": 2024, "reference_date": "2024-11-01", "standard_id": "VN-2022-2025"},
        )
        round_2024 = response.json()["id"]

        response = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2024}", json=survey_json()
        )

        assert response.status_code == 201, response.text
        [envelope] = await staged(sessionmaker, "households.assessment.recorded.v1")
        assert (envelope["data"]["commune_name"], envelope["data"]["unit_path"]) == (
            "Phường Tích Sơn",
            ["26", "243", "08707"],
        )
