import httpx
import pytest

from households.config import Settings
from households.main import create_app
from kit.errors import PROBLEM_JSON


class TestListUnits:
    async def test_searches_names_without_diacritics(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units", params={"q": "vinh yen", "level": "district"})

        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 1
        assert (body["offset"], body["limit"]) == (0, 50)
        [unit] = body["items"]
        assert unit == {
            "code": "243",
            "name": "Thành phố Vĩnh Yên",
            "level": "district",
            "division_type": "thành phố",
            "area": None,
            "parent_code": "26",
            "province_code": "26",
            "district_code": "243",
            "valid_from": "2008-08-01",
            "valid_to": "2025-06-30",
        }

    async def test_pages_a_parents_children(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/api/v1/units", params={"parent_code": "26", "offset": 3, "limit": 2}
        )

        body = response.json()
        assert body["total"] == 9
        assert [unit["code"] for unit in body["items"]] == ["247", "248"]

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
    async def test_refuses_a_page_out_of_bounds(
        self, client: httpx.AsyncClient, params: dict[str, int]
    ) -> None:
        response = await client.get("/api/v1/units", params=params)

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON


class TestGetUnit:
    async def test_returns_a_commune_with_its_area(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/08761")

        assert response.status_code == 200
        body = response.json()
        assert (body["name"], body["division_type"], body["area"]) == (
            "Thị trấn Lập Thạch",
            "thị trấn",
            "urban",
        )

    async def test_an_unknown_code_is_a_problem_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/99999")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["detail"] == "No administrative unit '99999'."

    async def test_a_day_after_the_reform_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/26", params={"on": "2025-07-01"})

        assert response.status_code == 404
        assert response.json()["detail"] == "No administrative unit '26' on 2025-07-01."


class TestListUnitChildren:
    async def test_lists_a_provinces_districts(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/26/children")

        assert response.status_code == 200
        assert [unit["code"] for unit in response.json()] == [
            "243",
            "244",
            "246",
            "247",
            "248",
            "249",
            "251",
            "252",
            "253",
        ]

    async def test_an_unknown_parent_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/99/children")

        assert response.status_code == 404


class TestGetUnitPath:
    async def test_runs_from_the_province_to_the_unit(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/08707/path")

        assert response.status_code == 200
        assert [unit["code"] for unit in response.json()] == ["26", "243", "08707"]

    async def test_an_unknown_unit_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/00000/path")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON


def test_the_openapi_document_names_the_problem_shape(settings: Settings) -> None:
    openapi = create_app(settings).openapi()
    operation = openapi["paths"]["/api/v1/units/{code}"]["get"]

    assert PROBLEM_JSON in operation["responses"]["404"]["content"]
