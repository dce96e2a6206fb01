import unicodedata
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest

from kit.errors import PROBLEM_JSON
from synthetic.generator import Commune, generate

REFERENCE_DATE = date(2024, 11, 1)
QUANG_SON = "08764"  # Xã Quang Sơn, Huyện Lập Thạch (246), Tỉnh Vĩnh Phúc (26): rural


def household_json(**overrides: Any) -> dict[str, Any]:
    """A valid household in Xã Quang Sơn, Vĩnh Phúc, with a fresh code; override any field."""
    return {
        "household_code": f"HH-{uuid4().hex[:8].upper()}",
        "commune_code": QUANG_SON,
        "village": "Thôn Đồng Giang",
        "address": "Số 12, Thôn Đồng Giang",
        "head_name": "Nguyễn Văn Hùng",
    } | overrides


def locs(response: httpx.Response) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in response.json()["errors"]]


async def register(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/households", json=household_json(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_round(client: httpx.AsyncClient, **overrides: Any) -> str:
    round_in = {
        "year": 2024,
        "reference_date": REFERENCE_DATE.isoformat(),
        "standard_id": "VN-2022-2025",
    } | overrides
    response = await client.post("/api/v1/rounds", json=round_in)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def register_synthetic(client: httpx.AsyncClient, *communes: Commune, count: int) -> None:
    """`count` demo households spread over `communes`, each with an assessment ready to record."""
    for item in generate(communes, households=count, reference_date=REFERENCE_DATE):
        await register(client, **item.household.model_dump(mode="json"))


class TestRegisterHousehold:
    async def test_registers_with_province_and_district_from_the_commune(
        self, client: httpx.AsyncClient
    ) -> None:
        household_in = household_json()

        response = await client.post("/api/v1/households", json=household_in)

        assert response.status_code == 201
        assert response.headers["etag"] == '"1"'
        body = response.json()
        assert {key: body[key] for key in household_in} == household_in
        assert (body["province_code"], body["district_code"]) == ("26", "246")
        assert body["version"] == 1

    async def test_a_ward_of_another_province_gets_its_own_parents(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await register(client, commune_code="07888")  # Phường Dữu Lâu, Việt Trì, Phú Thọ

        assert (body["province_code"], body["district_code"]) == ("25", "227")

    async def test_an_unknown_commune_is_refused_naming_commune_code(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/v1/households", json=household_json(commune_code="99999")
        )

        assert response.status_code == 422
        assert locs(response) == ["body.commune_code"]
        assert "99999" in response.json()["detail"]
        assert (await client.get("/api/v1/households")).json()["total"] == 0

    async def test_a_district_code_is_not_a_commune(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/households", json=household_json(commune_code="246"))

        assert response.status_code == 422
        assert locs(response) == ["body.commune_code"]

    async def test_a_taken_household_code_is_a_conflict(self, client: httpx.AsyncClient) -> None:
        first = await register(client, household_code="26-08764-000123")

        response = await client.post(
            "/api/v1/households",
            json=household_json(household_code="26-08764-000123", village="Thôn Khác"),
        )

        assert response.status_code == 409
        assert "26-08764-000123" in response.json()["detail"]
        assert locs(response) == ["body.household_code"]
        listed = (await client.get("/api/v1/households")).json()
        assert [item["id"] for item in listed["items"]] == [first["id"]]
        assert listed["items"][0]["village"] == "Thôn Đồng Giang"

    @pytest.mark.parametrize(
        ("field", "value"),
        [("household_code", ""), ("commune_code", "8764"), ("village", ""), ("color", "red")],
    )
    async def test_malformed_fields_are_refused_by_name(
        self, client: httpx.AsyncClient, field: str, value: str
    ) -> None:
        response = await client.post("/api/v1/households", json=household_json(**{field: value}))

        assert response.status_code == 422
        assert locs(response) == [f"body.{field}"]

    @pytest.mark.parametrize("code", ["hh-0001", "ＨＨ－０００１", " HH-0001\u3000"])
    async def test_codes_that_look_identical_are_identical(
        self, client: httpx.AsyncClient, code: str
    ) -> None:
        first = await register(client, household_code="HH-0001")

        response = await client.post("/api/v1/households", json=household_json(household_code=code))

        assert first["household_code"] == "HH-0001"
        assert response.status_code == 409
        assert locs(response) == ["body.household_code"]

    async def test_a_code_is_stored_in_capitals_nfkc_and_trimmed(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await register(client, household_code=" ｈｈ－đông-7 ")

        assert body["household_code"] == "HH-ĐÔNG-7"

    async def test_text_typed_decomposed_is_stored_composed_and_trimmed(
        self, client: httpx.AsyncClient
    ) -> None:
        decomposed = {
            field: unicodedata.normalize("NFD", value)
            for field, value in household_json().items()
            if field in ("village", "address", "head_name")
        }
        assert decomposed["village"] != "Thôn Đồng Giang"

        body = await register(
            client, **{field: f" {value}  " for field, value in decomposed.items()}
        )

        assert (body["village"], body["address"], body["head_name"]) == (
            "Thôn Đồng Giang",
            "Số 12, Thôn Đồng Giang",
            "Nguyễn Văn Hùng",
        )
        listed = await client.get("/api/v1/households", params={"village": decomposed["village"]})
        assert [item["id"] for item in listed.json()["items"]] == [body["id"]]

    @pytest.mark.parametrize("field", ["household_code", "village", "address", "head_name"])
    @pytest.mark.parametrize(
        "character",
        ["\x00", "\u200b", "\u202e", "\t"],
        ids=["NUL", "zero-width space", "right-to-left override", "tab"],
    )
    async def test_control_and_invisible_characters_are_refused_by_name(
        self, client: httpx.AsyncClient, field: str, character: str
    ) -> None:
        value = f"{household_json()[field][:5]}{character}1"

        response = await client.post("/api/v1/households", json=household_json(**{field: value}))

        assert response.status_code == 422
        assert locs(response) == [f"body.{field}"]
        assert (await client.get("/api/v1/households")).json()["total"] == 0

    async def test_a_commune_code_in_other_digits_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/v1/households", json=household_json(commune_code="٠٨٧٦٤")
        )

        assert response.status_code == 422
        assert locs(response) == ["body.commune_code"]


class TestGetHousehold:
    async def test_gets_a_household_with_its_etag(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)

        response = await client.get(f"/api/v1/households/{registered['id']}")

        assert response.status_code == 200
        assert response.headers["etag"] == '"1"'
        assert response.json() == registered

    async def test_an_unknown_household_is_a_404_problem(self, client: httpx.AsyncClient) -> None:
        household_id = uuid4()

        response = await client.get(f"/api/v1/households/{household_id}")

        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON
        problem = response.json()
        assert (problem["title"], problem["status"], problem["errors"]) == ("Not Found", 404, [])
        assert str(household_id) in problem["detail"]


class TestUpdateHousehold:
    async def test_with_the_current_etag_it_changes_and_gets_a_new_version(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)

        response = await client.patch(
            f"/api/v1/households/{registered['id']}",
            json={"village": "Thôn Mới", "commune_code": "08713"},  # Phường Hội Hợp, Vĩnh Yên
            headers={"If-Match": '"1"'},
        )

        assert response.status_code == 200
        assert response.headers["etag"] == '"2"'
        body = response.json()
        assert (body["village"], body["commune_code"]) == ("Thôn Mới", "08713")
        assert (body["province_code"], body["district_code"]) == ("26", "243")
        assert body["version"] == 2
        assert body["head_name"] == registered["head_name"]
        assert body["updated_at"] > registered["updated_at"]
        assert (await client.get(f"/api/v1/households/{registered['id']}")).json() == body

    async def test_a_weak_etag_is_accepted(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)

        response = await client.patch(
            f"/api/v1/households/{registered['id']}",
            json={"address": None},
            headers={"If-Match": 'W/"1"'},
        )

        assert response.status_code == 200
        assert response.json()["address"] is None

    async def test_a_stale_etag_fails_and_changes_nothing(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)
        url = f"/api/v1/households/{registered['id']}"
        await client.patch(url, json={"village": "Thôn Hai"}, headers={"If-Match": '"1"'})

        response = await client.patch(url, json={"village": "Thôn Ba"}, headers={"If-Match": '"1"'})

        assert response.status_code == 412
        assert response.json()["title"] == "Precondition Failed"
        current = (await client.get(url)).json()
        assert (current["village"], current["version"]) == ("Thôn Hai", 2)

    async def test_without_if_match_it_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        url = f"/api/v1/households/{registered['id']}"

        response = await client.patch(url, json={"village": "Thôn Ba"})

        assert response.status_code == 428
        assert response.json()["title"] == "Precondition Required"
        assert (await client.get(url)).json() == registered

    async def test_an_unknown_field_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        url = f"/api/v1/households/{registered['id']}"

        response = await client.patch(
            url, json={"village": "Thôn Ba", "hamlet": "Xóm 2"}, headers={"If-Match": '"1"'}
        )

        assert response.status_code == 422
        assert locs(response) == ["body.hamlet"]
        assert (await client.get(url)).json() == registered

    async def test_a_malformed_if_match_names_the_header(self, client: httpx.AsyncClient) -> None:
        registered = await register(client)

        response = await client.patch(
            f"/api/v1/households/{registered['id']}",
            json={"village": "Thôn Ba"},
            headers={"If-Match": "version one"},
        )

        assert response.status_code == 422
        assert locs(response) == ["header.if-match"]

    @pytest.mark.parametrize(
        "value", [b'"\xb3"', '"٣"'.encode(), '"１"'.encode(), b"\xff", b'"1" x']
    )
    async def test_an_if_match_that_is_no_ascii_etag_names_the_header(
        self, client: httpx.AsyncClient, value: bytes
    ) -> None:
        # Starlette reads header bytes as Latin-1: b"\xb3" is "³", a digit to str.isdigit().
        registered = await register(client)
        url = f"/api/v1/households/{registered['id']}"

        response = await client.patch(url, json={"village": "Thôn Ba"}, headers={"If-Match": value})

        assert response.status_code == 422
        assert locs(response) == ["header.if-match"]
        assert (await client.get(url)).json() == registered

    async def test_an_unknown_commune_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        registered = await register(client)
        url = f"/api/v1/households/{registered['id']}"

        response = await client.patch(
            url, json={"commune_code": "99999", "village": "Thôn Ba"}, headers={"If-Match": '"1"'}
        )

        assert response.status_code == 422
        assert locs(response) == ["body.commune_code"]
        assert (await client.get(url)).json() == registered

    async def test_a_move_into_a_commune_where_its_code_is_taken_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, household_code="HH-SAME", commune_code="08707")
        moving = await register(client, household_code="HH-SAME")

        response = await client.patch(
            f"/api/v1/households/{moving['id']}",
            json={"commune_code": "08707"},
            headers={"If-Match": '"1"'},
        )

        assert response.status_code == 409
        assert locs(response) == ["body.household_code"]
        stored = (await client.get(f"/api/v1/households/{moving['id']}")).json()
        assert (stored["commune_code"], stored["version"]) == (QUANG_SON, 1)

    @pytest.mark.parametrize("field", ["commune_code", "village"])
    async def test_a_required_fact_cannot_be_erased(
        self, client: httpx.AsyncClient, field: str
    ) -> None:
        registered = await register(client)
        url = f"/api/v1/households/{registered['id']}"

        response = await client.patch(url, json={field: None}, headers={"If-Match": '"1"'})

        assert response.status_code == 422
        assert locs(response) == [f"body.{field}"]
        assert (await client.get(url)).json() == registered

    async def test_an_unknown_household_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.patch(
            f"/api/v1/households/{uuid4()}", json={"village": "X"}, headers={"If-Match": '"1"'}
        )

        assert response.status_code == 404


class TestListHouseholds:
    COMMUNES = (
        Commune(QUANG_SON, urban=False),  # 26 / 246
        Commune("08789", urban=True),  # Thị trấn Hoa Sơn: 26 / 246
        Commune("08713", urban=True),  # Phường Hội Hợp: 26 / 243
        Commune("07888", urban=True),  # Phường Dữu Lâu: 25 / 227
    )

    @pytest.mark.parametrize(
        ("unit_code", "communes"),
        [
            ("26", {QUANG_SON, "08789", "08713"}),
            ("246", {QUANG_SON, "08789"}),
            ("08713", {"08713"}),
            ("25", {"07888"}),
            ("01", set()),
        ],
    )
    async def test_filters_by_province_district_or_commune_code(
        self, client: httpx.AsyncClient, unit_code: str, communes: set[str]
    ) -> None:
        await register_synthetic(client, *self.COMMUNES, count=8)

        response = await client.get("/api/v1/households", params={"unit_code": unit_code})

        assert response.status_code == 200
        body = response.json()
        assert {item["commune_code"] for item in body["items"]} == communes
        assert body["total"] == 2 * len(communes)
        assert all(item["commune_code"] in communes for item in body["items"])

    async def test_filters_by_the_round_a_household_was_surveyed_in(
        self, client: httpx.AsyncClient
    ) -> None:
        this_round = await open_round(client)
        other_round = await open_round(client, kind="regular", reference_date="2024-06-15")
        synthetic = list(generate(self.COMMUNES, households=3, reference_date=REFERENCE_DATE))
        registered = [
            await register(client, **item.household.model_dump(mode="json")) for item in synthetic
        ]
        for household, item, round_id in zip(
            registered[:2], synthetic, [this_round, other_round], strict=False
        ):
            response = await client.put(
                f"/api/v1/households/{household['id']}/assessments/{round_id}",
                json=item.assessment.model_dump(mode="json"),
            )
            assert response.status_code == 201, response.text

        response = await client.get("/api/v1/households", params={"round_id": this_round})

        body = response.json()
        assert [item["id"] for item in body["items"]] == [registered[0]["id"]]
        assert body["total"] == 1

    async def test_filters_by_village(self, client: httpx.AsyncClient) -> None:
        wanted = await register(client, village="Thôn Bảo Phác")
        await register(client, village="Thôn Đồng Giang")

        response = await client.get("/api/v1/households", params={"village": "Thôn Bảo Phác"})

        assert response.json()["items"] == [wanted]

    async def test_pages_in_household_code_order_and_counts_every_match(
        self, client: httpx.AsyncClient
    ) -> None:
        for code in ["HH-05", "HH-03", "HH-07", "HH-01", "HH-06", "HH-02", "HH-04"]:
            await register(client, household_code=code)

        pages = [
            (await client.get("/api/v1/households", params={"offset": offset, "limit": 3})).json()
            for offset in (0, 3, 6)
        ]

        assert [page["total"] for page in pages] == [7, 7, 7]
        assert [(page["offset"], page["limit"]) for page in pages] == [(0, 3), (3, 3), (6, 3)]
        assert [[item["household_code"] for item in page["items"]] for page in pages] == [
            ["HH-01", "HH-02", "HH-03"],
            ["HH-04", "HH-05", "HH-06"],
            ["HH-07"],
        ]

    async def test_a_page_past_the_end_is_empty_but_keeps_the_total(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client)

        response = await client.get("/api/v1/households", params={"offset": 10})

        assert response.json() == {"items": [], "total": 1, "offset": 10, "limit": 50}

    async def test_a_page_may_hold_up_to_500(self, client: httpx.AsyncClient) -> None:
        await register(client)

        response = await client.get("/api/v1/households", params={"limit": 500})

        assert response.status_code == 200
        assert (response.json()["limit"], response.json()["total"]) == (500, 1)

    @pytest.mark.parametrize(
        ("params", "loc"),
        [
            ({"limit": 501}, "query.limit"),
            ({"limit": 0}, "query.limit"),
            ({"offset": -1}, "query.offset"),
            ({"unit_code": "2"}, "query.unit_code"),
            ({"round_id": "2024"}, "query.round_id"),
        ],
    )
    async def test_bad_paging_or_filters_are_refused_by_name(
        self, client: httpx.AsyncClient, params: dict[str, Any], loc: str
    ) -> None:
        response = await client.get("/api/v1/households", params=params)

        assert response.status_code == 422
        assert locs(response) == [loc]
