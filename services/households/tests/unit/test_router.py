from typing import Any

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


class TestListUnitsOnADay:
    async def test_after_the_reform_lists_the_new_communes(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/api/v1/units", params={"level": "commune", "on": "2025-11-01", "limit": 1}
        )

        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 3_321
        assert body["items"][0]["valid_from"] == "2025-07-01"

    async def test_searches_the_new_names_without_diacritics(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/v1/units", params={"q": "vinh phuc", "on": "2025-11-01"})

        assert [(unit["code"], unit["name"]) for unit in response.json()["items"]] == [
            ("08716", "Phường Vĩnh Phúc")
        ]


class TestGetUnit:
    @pytest.mark.parametrize(
        ("on", "expected"),
        [
            ("2025-06-30", ("Thị trấn Lập Thạch", "thị trấn", "urban")),
            ("2025-11-01", ("Xã Lập Thạch", "xã", "rural")),
        ],
    )
    async def test_returns_a_commune_with_its_area(
        self, client: httpx.AsyncClient, on: str, expected: tuple[str, str, str]
    ) -> None:
        response = await client.get("/api/v1/units/08761", params={"on": on})

        assert response.status_code == 200
        body = response.json()
        assert (body["name"], body["division_type"], body["area"]) == expected

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
    @pytest.mark.parametrize(
        ("on", "codes"),
        [("2024-11-01", ["26", "243", "08707"]), ("2025-11-01", ["25", "08707"])],
    )
    async def test_runs_from_the_province_to_the_unit(
        self, client: httpx.AsyncClient, on: str, codes: list[str]
    ) -> None:
        response = await client.get("/api/v1/units/08707/path", params={"on": on})

        assert response.status_code == 200
        assert [unit["code"] for unit in response.json()] == codes

    async def test_an_unknown_unit_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/00000/path")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON


def test_the_openapi_document_names_the_problem_shape(settings: Settings) -> None:
    openapi = create_app(settings).openapi()
    operation = openapi["paths"]["/api/v1/units/{code}"]["get"]

    assert PROBLEM_JSON in operation["responses"]["404"]["content"]


VINH_YEN_NEW = {
    "code": "08707",
    "name": "Phường Vĩnh Yên",
    "level": "commune",
    "division_type": "phường",
    "area": "urban",
    "parent_code": "25",
    "province_code": "25",
    "district_code": None,
    "valid_from": "2025-07-01",
    "valid_to": None,
}


class TestListUnitSuccessors:
    async def test_a_merged_commune_names_the_one_it_went_into(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/v1/units/08731/successors")

        assert response.status_code == 200
        assert response.json() == [
            {"relation": "whole", "effective": "2025-07-01", "unit": VINH_YEN_NEW}
        ]

    async def test_a_reused_code_means_its_ended_unit_by_default(
        self, client: httpx.AsyncClient
    ) -> None:
        default = await client.get("/api/v1/units/08707/successors")
        before = await client.get("/api/v1/units/08707/successors", params={"on": "2024-11-01"})
        after = await client.get("/api/v1/units/08707/successors", params={"on": "2025-11-01"})

        assert [edge["unit"]["code"] for edge in default.json()] == ["08707"]
        assert before.json() == default.json()
        assert after.json() == []  # the new Phường Vĩnh Yên is in force: no successor yet

    async def test_a_split_commune_lists_every_part(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/09796/successors")

        assert [(edge["unit"]["code"], edge["relation"]) for edge in response.json()] == [
            ("08980", "partial"),
            ("09022", "partial"),
            ("09787", "partial"),
            ("09817", "partial"),
        ]

    async def test_an_unknown_code_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/99999/successors")

        assert response.status_code == 404


class TestListUnitPredecessors:
    async def test_a_new_commune_lists_what_went_into_it(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/08707/predecessors")

        assert response.status_code == 200
        edges = response.json()
        codes = [edge["unit"]["code"] for edge in edges]
        assert {"08707", "08713", "08731"} <= set(codes)
        assert codes == sorted(codes)
        assert {(edge["relation"], edge["effective"]) for edge in edges} == {
            ("whole", "2025-07-01")
        }
        assert {edge["unit"]["valid_to"] for edge in edges} == {"2025-06-30"}

    async def test_an_old_unit_has_none(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/units/08707/predecessors", params={"on": "2024-11-01"})

        assert response.json() == []

    async def test_a_province_lists_the_provinces_merged_into_it(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/v1/units/25/predecessors", params={"on": "2026-01-15"})

        assert [(edge["unit"]["code"], edge["unit"]["name"]) for edge in response.json()] == [
            ("17", "Tỉnh Hòa Bình"),
            ("25", "Tỉnh Phú Thọ"),
            ("26", "Tỉnh Vĩnh Phúc"),
        ]

    async def test_needs_the_units_read_permission(self, client_with: Any) -> None:
        response = await client_with({}).get("/api/v1/units/08707/predecessors")

        assert response.status_code == 401


def test_the_crosswalk_is_in_the_openapi_document(settings: Settings) -> None:
    document = create_app(settings).openapi()

    for lineage in ("successors", "predecessors"):
        operation = document["paths"][f"/api/v1/units/{{code}}/{lineage}"]["get"]
        assert {parameter["name"] for parameter in operation["parameters"]} >= {"code", "on"}
    schema = document["components"]["schemas"]["UnitSuccessionRead"]
    # Its examples are recorded from the demo onto the merged document (docs/api.md).
    assert set(schema["properties"]) == {"relation", "effective", "unit"}
