from typing import Any
from uuid import uuid4

import httpx
import pytest

from kit.errors import PROBLEM_JSON


def round_json(**overrides: Any) -> dict[str, Any]:
    """A valid periodic review round of 2024 under VN-2022-2025; override any field."""
    return {
        "year": 2024,
        "kind": "periodic",
        "reference_date": "2024-11-01",
        "standard_id": "VN-2022-2025",
        "name": "Periodic review 2024",
    } | overrides


def locs(response: httpx.Response) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in response.json()["errors"]]


async def open_round(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/rounds", json=round_json(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestOpenRound:
    async def test_opens_a_round_pinned_to_its_standard(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/rounds", json=round_json())

        assert response.status_code == 201
        body = response.json()
        assert {key: body[key] for key in round_json()} == round_json()
        assert body["id"]
        assert body["created_at"]

    async def test_without_a_name_it_is_named_after_kind_and_year(
        self, client: httpx.AsyncClient
    ) -> None:
        body = round_json(kind="regular", reference_date="2024-11-15")
        del body["name"]

        response = await client.post("/api/v1/rounds", json=body)

        assert response.status_code == 201
        assert response.json()["name"] == "Regular review 2024"

    async def test_an_unknown_standard_is_refused_naming_standard_id(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/api/v1/rounds", json=round_json(standard_id="VN-1999"))

        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert (problem["title"], problem["status"]) == ("Unprocessable Content", 422)
        assert "VN-1999" in problem["detail"]
        assert locs(response) == ["body.standard_id"]
        assert (await client.get("/api/v1/rounds")).json()["total"] == 0

    @pytest.mark.parametrize("day", ["2024-11-01", "2024-11-14", "2024-11-16", "2024-11-30"])
    async def test_a_regular_rounds_reference_date_off_the_15th_is_refused(
        self, client: httpx.AsyncClient, day: str
    ) -> None:
        response = await client.post(
            "/api/v1/rounds", json=round_json(kind="regular", reference_date=day)
        )

        assert response.status_code == 422
        assert locs(response) == ["body.reference_date"]
        assert "15th" in response.json()["detail"]
        assert (await client.get("/api/v1/rounds")).json()["total"] == 0

    async def test_a_regular_round_on_the_15th_opens_and_a_periodic_one_on_any_day(
        self, client: httpx.AsyncClient
    ) -> None:
        regular = await client.post(
            "/api/v1/rounds", json=round_json(kind="regular", reference_date="2024-12-15")
        )
        periodic = await client.post("/api/v1/rounds", json=round_json(reference_date="2024-11-03"))

        assert (regular.status_code, periodic.status_code) == (201, 201)

    async def test_a_reference_date_outside_the_year_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/api/v1/rounds", json=round_json(reference_date="2022-11-01"))

        assert response.status_code == 422
        assert locs(response) == ["body.reference_date"]

    async def test_the_same_year_kind_and_reference_date_twice_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await open_round(client)

        response = await client.post("/api/v1/rounds", json=round_json(name="Again"))

        assert response.status_code == 409
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["title"] == "Conflict"
        listed = (await client.get("/api/v1/rounds")).json()
        assert [item["id"] for item in listed["items"]] == [first["id"]]

    async def test_another_kind_on_the_same_day_is_a_different_round(
        self, client: httpx.AsyncClient
    ) -> None:
        periodic = await open_round(client, reference_date="2024-11-15")

        response = await client.post(
            "/api/v1/rounds", json=round_json(kind="regular", reference_date="2024-11-15")
        )

        assert response.status_code == 201
        regular = response.json()
        assert regular["id"] != periodic["id"]
        assert (periodic["kind"], regular["kind"]) == ("periodic", "regular")
        listed = (await client.get("/api/v1/rounds")).json()
        assert listed["total"] == 2
        kinds = {item["id"]: item["kind"] for item in listed["items"]}
        assert kinds == {periodic["id"]: "periodic", regular["id"]: "regular"}
        for opened in (periodic, regular):
            assert (await client.get(f"/api/v1/rounds/{opened['id']}")).json() == opened

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("year", 1999),
            ("kind", "weekly"),
            ("reference_date", "1 Nov 2024"),
            ("name", "x" * 201),
            ("name", "Periodic\u202e review"),  # a bidi override
            ("standard_id", "VN-2022\x00-2025"),
            ("colour", "red"),  # unknown fields are refused, not dropped
        ],
    )
    async def test_malformed_fields_are_refused_by_name(
        self, client: httpx.AsyncClient, field: str, value: Any
    ) -> None:
        response = await client.post("/api/v1/rounds", json=round_json(**{field: value}))

        assert response.status_code == 422
        assert locs(response) == [f"body.{field}"]

    async def test_a_standard_id_is_read_as_a_code(self, client: httpx.AsyncClient) -> None:
        body = await open_round(client, standard_id=" vn-２０２２-2025 ")

        assert body["standard_id"] == "VN-2022-2025"


class TestGetRound:
    async def test_gets_an_opened_round(self, client: httpx.AsyncClient) -> None:
        opened = await open_round(client)

        response = await client.get(f"/api/v1/rounds/{opened['id']}")

        assert response.status_code == 200
        assert response.json() == opened
        assert response.json()["created_at"].endswith("Z")  # read back from SQLite, still UTC

    async def test_an_unknown_round_is_a_404_problem(self, client: httpx.AsyncClient) -> None:
        round_id = uuid4()

        response = await client.get(f"/api/v1/rounds/{round_id}")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert (problem["title"], problem["status"], problem["errors"]) == ("Not Found", 404, [])
        assert str(round_id) in problem["detail"]

    async def test_a_malformed_id_names_the_path_parameter(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/rounds/not-a-uuid")

        assert response.status_code == 422
        assert locs(response) == ["path.round_id"]


class TestListRounds:
    async def test_lists_rounds_newest_reference_date_first(
        self, client: httpx.AsyncClient
    ) -> None:
        older = await open_round(client, year=2023, reference_date="2023-11-01")
        newer = await open_round(client)
        monthly = await open_round(client, kind="regular", reference_date="2024-03-15")

        response = await client.get("/api/v1/rounds")

        assert response.status_code == 200
        body = response.json()
        assert body["total"] == 3
        assert [item["id"] for item in body["items"]] == [newer["id"], monthly["id"], older["id"]]
        assert body["items"][0] == newer

    async def test_filters_by_year(self, client: httpx.AsyncClient) -> None:
        await open_round(client, year=2023, reference_date="2023-11-01")
        wanted = await open_round(client)

        response = await client.get("/api/v1/rounds", params={"year": 2024})

        assert response.json() == {"items": [wanted], "total": 1}

    async def test_no_rounds_is_an_empty_list(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/rounds")

        assert response.json() == {"items": [], "total": 0}
