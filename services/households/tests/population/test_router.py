from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.population.models import UnitPopulation

RECORDED = "households.population.recorded.v1"
QUANG_SON = "08764"  # Xã Quang Sơn, Huyện Lập Thạch (246), Vĩnh Phúc (26): rural
LAP_THACH = "08761"  # Thị trấn Lập Thạch (246): urban
TICH_SON = "08707"  # Phường Tích Sơn, Thành phố Vĩnh Yên (243): urban
DUU_LAU = "07888"  # Phường Dữu Lâu, Thành phố Việt Trì (227), Phú Thọ (25): urban


def population_json(**overrides: Any) -> dict[str, Any]:
    return {"resident_households": 2_450, "resident_persons": 9_310} | overrides


def locs(response: httpx.Response) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in response.json()["errors"]]


async def staged(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """The envelopes of the population events in the outbox, oldest first."""
    statement = (
        select(outbox.c.envelope).where(outbox.c.type == RECORDED).order_by(outbox.c.position)
    )
    async with sessionmaker() as session:
        return list(await session.exec(statement))


async def nothing_written(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """No population and no population event exists."""
    async with sessionmaker() as session:
        populations = (await session.exec(select(func.count()).select_from(UnitPopulation))).one()
    return (populations, len(await staged(sessionmaker))) == (0, 0)


async def open_round(client: httpx.AsyncClient, **overrides: Any) -> str:
    round_in = {
        "year": 2024,
        "reference_date": "2024-11-01",
        "standard_id": "VN-2022-2025",
    } | overrides
    response = await client.post("/api/v1/rounds", json=round_in)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
async def round_id(client: httpx.AsyncClient) -> str:
    return await open_round(client)


async def record(
    client: httpx.AsyncClient, round_id: str, unit_code: str, **overrides: Any
) -> dict[str, Any]:
    response = await client.put(
        f"/api/v1/populations/{round_id}/{unit_code}", json=population_json(**overrides)
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


class TestRecordPopulation:
    async def test_records_a_communes_residents_with_its_parents(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_id}/{QUANG_SON}", json=population_json()
        )

        assert response.status_code == 201
        body = response.json()
        assert {key: value for key, value in body.items() if key != "updated_at"} == {
            "round_id": round_id,
            "unit_code": QUANG_SON,
            "province_code": "26",
            "district_code": "246",
            "resident_households": 2_450,
            "resident_persons": 9_310,
            "version": 1,
        }

    async def test_stages_a_recorded_event(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_id}/{LAP_THACH}", json=population_json()
        )

        [envelope] = await staged(sessionmaker)
        assert (envelope["type"], envelope["producer"]) == (RECORDED, "households")
        assert envelope["subject"] == f"population:{round_id}:{LAP_THACH}"
        assert envelope["sequence"] == 1
        assert envelope["correlation_id"] == response.headers["x-request-id"]
        assert envelope["data"] == {
            "round_id": round_id,
            "unit_code": LAP_THACH,
            "unit_path": ["26", "246", LAP_THACH],
            "area": "urban",
            "resident_households": 2_450,
            "resident_persons": 9_310,
        }

    async def test_recording_again_replaces_and_increments_the_sequence(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        await record(client, round_id, QUANG_SON)

        response = await client.put(
            f"/api/v1/populations/{round_id}/{QUANG_SON}",
            json=population_json(resident_households=2_460, resident_persons=9_350),
        )

        assert response.status_code == 200
        body = response.json()
        assert (body["resident_households"], body["resident_persons"]) == (2_460, 9_350)
        assert body["version"] == 2
        envelopes = await staged(sessionmaker)
        assert [(e["subject"], e["sequence"]) for e in envelopes] == [
            (f"population:{round_id}:{QUANG_SON}", 1),
            (f"population:{round_id}:{QUANG_SON}", 2),
        ]
        assert envelopes[1]["data"]["resident_households"] == 2_460
        listed = (await client.get(f"/api/v1/populations/{round_id}")).json()
        assert listed["items"] == [body]

    async def test_the_same_commune_in_another_round_is_a_separate_record(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        await record(client, round_id, QUANG_SON)
        other_round = await open_round(client, year=2023, reference_date="2023-11-01")

        response = await client.put(
            f"/api/v1/populations/{other_round}/{QUANG_SON}", json=population_json()
        )

        assert response.status_code == 201
        assert response.json()["version"] == 1

    @pytest.mark.parametrize("unit_code", ["246", "26", "8764"])
    async def test_a_unit_that_is_not_a_commune_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
        unit_code: str,
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_id}/{unit_code}", json=population_json()
        )

        assert response.status_code == 422
        assert locs(response) == ["path.unit_code"]
        assert await nothing_written(sessionmaker)

    async def test_an_unknown_commune_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        response = await client.put(f"/api/v1/populations/{round_id}/99999", json=population_json())

        assert response.status_code == 422
        assert locs(response) == ["path.unit_code"]
        assert "99999" in response.json()["detail"]
        assert await nothing_written(sessionmaker)

    async def test_fewer_persons_than_households_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_id}/{QUANG_SON}",
            json=population_json(resident_households=100, resident_persons=99),
        )

        assert response.status_code == 422
        assert locs(response) == ["body"]
        assert "resident_persons" in response.json()["errors"][0]["msg"]
        assert await nothing_written(sessionmaker)

    @pytest.mark.parametrize(
        ("overrides", "loc"),
        [
            ({"resident_households": -1}, "body.resident_households"),
            ({"resident_persons": "many"}, "body.resident_persons"),
            ({"unit_code": QUANG_SON}, "body.unit_code"),
        ],
    )
    async def test_malformed_counts_are_refused_by_name(
        self, client: httpx.AsyncClient, round_id: str, overrides: dict[str, Any], loc: str
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{round_id}/{QUANG_SON}", json=population_json(**overrides)
        )

        assert response.status_code == 422
        assert locs(response) == [loc]

    async def test_an_unknown_round_is_a_404(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        response = await client.put(
            f"/api/v1/populations/{uuid4()}/{QUANG_SON}", json=population_json()
        )

        assert response.status_code == 404
        assert await nothing_written(sessionmaker)


class TestImportPopulations:
    async def test_imports_every_row_of_a_csv(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        csv = (
            "unit_code,resident_households,resident_persons\r\n"
            f"{QUANG_SON},2450,9310\r\n"
            f"{LAP_THACH},3120,11872\r\n"
            f"{TICH_SON},4015,14880\r\n"
        )

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode(),
            headers={"content-type": "text/csv; charset=utf-8"},
        )

        assert response.status_code == 200
        assert response.json() == {"imported": 3}
        listed = (await client.get(f"/api/v1/populations/{round_id}")).json()
        assert [
            (item["unit_code"], item["resident_households"], item["resident_persons"])
            for item in listed["items"]
        ] == [(TICH_SON, 4015, 14880), (LAP_THACH, 3120, 11872), (QUANG_SON, 2450, 9310)]
        assert {e["data"]["unit_code"] for e in await staged(sessionmaker)} == {
            QUANG_SON,
            LAP_THACH,
            TICH_SON,
        }

    async def test_a_spreadsheet_export_with_a_byte_order_mark_and_extra_columns_imports(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        csv = (
            "\ufeffname,unit_code,resident_persons,resident_households\n"
            f"Xã Quang Sơn,{QUANG_SON},9310,2450\n"
        )

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode(),
            headers={"content-type": "text/csv"},
        )

        assert response.json() == {"imported": 1}
        [item] = (await client.get(f"/api/v1/populations/{round_id}")).json()["items"]
        assert (item["resident_households"], item["resident_persons"]) == (2450, 9310)

    @pytest.mark.parametrize(
        ("bad_row", "loc"),
        [
            (f"{LAP_THACH},3120,3000", "body.row 3"),
            (f"{LAP_THACH},3120,", "body.row 3.resident_persons"),
            ("246,3120,11872", "body.row 3.unit_code"),
            ("99999,3120,11872", "body.row 3.unit_code"),
        ],
        ids=["fewer persons", "empty cell", "district code", "unknown commune"],
    )
    async def test_one_bad_csv_row_is_named_and_nothing_is_imported(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
        bad_row: str,
        loc: str,
    ) -> None:
        csv = (
            "unit_code,resident_households,resident_persons\n"
            f"{QUANG_SON},2450,9310\n"
            f"{bad_row}\n"
            f"{TICH_SON},4015,14880\n"
        )

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode(),
            headers={"content-type": "text/csv"},
        )

        assert response.status_code == 422
        assert locs(response) == [loc]
        assert await nothing_written(sessionmaker)

    async def test_every_bad_csv_row_is_reported_at_once(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        csv = (
            "unit_code,resident_households,resident_persons\n"
            f"{QUANG_SON},x,9310\n"
            f"{LAP_THACH},3120,11872\n"
            f"{TICH_SON},4015,-1\n"
        )

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode(),
            headers={"content-type": "text/csv"},
        )

        assert locs(response) == ["body.row 2.resident_households", "body.row 4.resident_persons"]

    async def test_a_commune_listed_twice_is_refused_naming_the_second_row(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        csv = (
            "unit_code,resident_households,resident_persons\n"
            f"{QUANG_SON},2450,9310\n"
            f"{TICH_SON},4015,14880\n"
            "\n"
            f"{QUANG_SON},2460,9350\n"
        )

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode(),
            headers={"content-type": "text/csv"},
        )

        assert response.status_code == 422
        assert locs(response) == ["body.row 5.unit_code"]
        assert "row 2" in response.json()["detail"]
        assert await nothing_written(sessionmaker)

    async def test_a_csv_without_the_expected_header_is_refused(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        csv = f"commune,households,persons\n{QUANG_SON},2450,9310\n"

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode(),
            headers={"content-type": "text/csv"},
        )

        assert response.status_code == 422
        assert locs(response) == ["body"]
        assert "unit_code" in response.json()["detail"]

    async def test_a_csv_that_is_not_utf8_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        csv = f"unit_code,resident_households,resident_persons\n{QUANG_SON},2450,9310\n# Xã\n"

        response = await client.post(
            f"/api/v1/populations/{round_id}/import",
            content=csv.encode("utf-16"),
            headers={"content-type": "text/csv"},
        )

        assert response.status_code == 422
        assert locs(response) == ["body"]
        assert await nothing_written(sessionmaker)

    async def test_imports_json_rows(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        rows = [
            {"unit_code": QUANG_SON, **population_json()},
            {"unit_code": DUU_LAU, "resident_households": 3_900, "resident_persons": 13_200},
        ]

        response = await client.post(f"/api/v1/populations/{round_id}/import", json=rows)

        assert response.json() == {"imported": 2}
        listed = (await client.get(f"/api/v1/populations/{round_id}")).json()
        assert [(item["unit_code"], item["province_code"]) for item in listed["items"]] == [
            (DUU_LAU, "25"),
            (QUANG_SON, "26"),
        ]
        assert len(await staged(sessionmaker)) == 2

    async def test_an_import_replaces_what_was_recorded(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        await record(client, round_id, QUANG_SON)
        rows = [{"unit_code": QUANG_SON, "resident_households": 2_500, "resident_persons": 9_400}]

        await client.post(f"/api/v1/populations/{round_id}/import", json=rows)

        [item] = (await client.get(f"/api/v1/populations/{round_id}")).json()["items"]
        assert (item["resident_households"], item["version"]) == (2_500, 2)
        assert [e["sequence"] for e in await staged(sessionmaker)] == [1, 2]

    @pytest.mark.parametrize(
        ("bad_row", "loc"),
        [
            (
                {"unit_code": "246", "resident_households": 1, "resident_persons": 1},
                "body.1.unit_code",
            ),
            (
                {"unit_code": "99999", "resident_households": 1, "resident_persons": 1},
                "body.1.unit_code",
            ),
            ({"unit_code": LAP_THACH, "resident_households": 2, "resident_persons": 1}, "body.1"),
            ({"unit_code": LAP_THACH, "resident_households": 2}, "body.1.resident_persons"),
            (
                {"unit_code": QUANG_SON, "resident_households": 1, "resident_persons": 1},
                "body.1.unit_code",
            ),
            (
                {"unit_code": LAP_THACH, "resident_households": 1, "resident_persons": 1, "x": 1},
                "body.1.x",
            ),
            (
                {"unit_code": "٠٨٧٦٠", "resident_households": 1, "resident_persons": 1},
                "body.1.unit_code",
            ),
        ],
        ids=[
            "district code",
            "unknown commune",
            "fewer persons",
            "missing count",
            "twice",
            "unknown field",
            "other digits",
        ],
    )
    async def test_one_bad_json_row_is_named_and_nothing_is_imported(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
        bad_row: dict[str, Any],
        loc: str,
    ) -> None:
        rows = [{"unit_code": QUANG_SON, **population_json()}, bad_row]

        response = await client.post(f"/api/v1/populations/{round_id}/import", json=rows)

        assert response.status_code == 422
        assert locs(response) == [loc]
        assert await nothing_written(sessionmaker)

    async def test_an_unknown_round_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"/api/v1/populations/{uuid4()}/import",
            json=[{"unit_code": QUANG_SON, **population_json()}],
        )

        assert response.status_code == 404


class TestListPopulations:
    @pytest.fixture
    async def recorded(self, client: httpx.AsyncClient, round_id: str) -> None:
        for code in (QUANG_SON, LAP_THACH, TICH_SON, DUU_LAU):
            await record(client, round_id, code)

    @pytest.mark.usefixtures("recorded")
    @pytest.mark.parametrize(
        ("unit_code", "communes"),
        [
            ("246", [LAP_THACH, QUANG_SON]),
            ("243", [TICH_SON]),
            ("26", [TICH_SON, LAP_THACH, QUANG_SON]),
            (QUANG_SON, [QUANG_SON]),
            (None, [DUU_LAU, TICH_SON, LAP_THACH, QUANG_SON]),
        ],
    )
    async def test_lists_the_communes_within_a_unit_by_code(
        self, client: httpx.AsyncClient, round_id: str, unit_code: str | None, communes: list[str]
    ) -> None:
        params = {"unit_code": unit_code} if unit_code else {}

        response = await client.get(f"/api/v1/populations/{round_id}", params=params)

        assert response.status_code == 200
        body = response.json()
        assert [item["unit_code"] for item in body["items"]] == communes
        assert body["total"] == len(communes)

    @pytest.mark.usefixtures("recorded")
    async def test_another_rounds_populations_are_not_listed(
        self, client: httpx.AsyncClient
    ) -> None:
        other_round = await open_round(client, kind="regular", reference_date="2024-11-15")

        response = await client.get(f"/api/v1/populations/{other_round}")

        assert response.json() == {"items": [], "total": 0}

    async def test_a_malformed_unit_code_is_refused(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        response = await client.get(f"/api/v1/populations/{round_id}", params={"unit_code": "2"})

        assert response.status_code == 422
        assert locs(response) == ["query.unit_code"]

    async def test_an_unknown_round_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/api/v1/populations/{uuid4()}")

        assert response.status_code == 404
