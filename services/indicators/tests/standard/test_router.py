from collections.abc import Callable

import httpx
import pytest

from kit.auth import Role


@pytest.fixture
def client(as_role: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return as_role(Role.MINISTRY_ANALYST)  # standards are for every role


async def test_lists_standards_with_review_years_and_income_lines(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/standards")

    assert response.status_code == 200
    current, upcoming = response.json()
    assert current["id"] == "VN-2022-2025"
    assert current["status"] == "in_force"
    assert current["review_years"] == [2022, 2023, 2024, 2025, 2026]
    assert current["income_lines"] == {"rural": 1_500_000, "urban": 2_000_000}
    assert upcoming["id"] == "VN-2027-2030"
    assert upcoming["status"] == "provisional"
    assert "indicators" not in upcoming


async def test_gets_the_full_definition(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/standards/VN-2027-2030")

    assert response.status_code == 200
    by_key = {indicator["key"]: indicator for indicator in response.json()["indicators"]}
    assert by_key["floor_area"]["rule"]["kind"] == "floor_area_per_person_below"
    assert by_key["floor_area"]["rule"]["min_m2_per_person"] == 8.0
    assert by_key["waste_handling"]["rule"] is None


async def test_unknown_standard_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/standards/VN-1999")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "VN-1999" in response.json()["detail"]
