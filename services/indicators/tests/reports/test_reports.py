"""Reports 1, 4–7 and the information sheet: every cell of a generated workbook (and CSV) is
checked against the JSON figures the same caller gets from `/api/v1/figures` and
`/api/v1/information`, for an officer (exact counts) and an analyst (perturbed counts).

The expected cells are written here from the JSON answers, column by column, independently of
the report module's own column definitions; headers are checked against the provincial layout.
"""

import csv
import io
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.reports import service as report_service
from indicators.standard.service import get_standard
from kit.auth import Role

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ROUND = UUID("00000000-0000-4000-8000-0000000000c1")  # the round of conftest.py
STANDARD = get_standard("VN-2022-2025")
AsRole = Callable[..., httpx.AsyncClient]
HEADER_ROW = 6
cells_checked = {"count": 0}


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def _average_rate(figures: Mapping[str, Any], unit: str) -> float | None:
    counts = figures["total"][unit]
    if figures["denominator"]["status"] != "complete" or not counts["resident"]:
        return None
    return round(100 * counts["average"] / counts["resident"], 4) / 100


def _results(f: Mapping[str, Any]) -> list[tuple[str, Any]]:
    row: list[tuple[str, Any]] = []
    for unit, vi, rates in (
        ("households", "hộ", "household_rates"),
        ("persons", "nhân khẩu", "person_rates"),
    ):
        counts, rate = f["total"][unit], f["total"][rates]
        row += [
            (f"Tổng số {vi}", counts["resident"]),
            (f"Số {vi} đã rà soát", counts["surveyed"]),
            (f"Số {vi} nghèo", counts["poor"]),
            ("Tỷ lệ (%)", _fraction(rate["poverty_rate_percent"])),
            (f"Số {vi} cận nghèo", counts["near_poor"]),
            ("Tỷ lệ (%)", _fraction(rate["near_poverty_rate_percent"])),
            (f"Số {vi} có mức sống trung bình", counts["average"]),
            ("Tỷ lệ (%)", _average_rate(f, unit)),
            ("Tỷ lệ nghèo đa chiều (%)", _fraction(rate["multidimensional_poverty_rate_percent"])),
        ]
    return row


def _deprivation(group: str, share: bool) -> Callable[[Mapping[str, Any]], list[tuple[str, Any]]]:
    def row(f: Mapping[str, Any]) -> list[tuple[str, Any]]:
        analysis = f["deprivation"][group]
        name = "hộ nghèo" if group == "poor" else "hộ cận nghèo"
        cells: list[tuple[str, Any]] = [(f"Tổng số {name}", analysis["households"])]
        for item, indicator in zip(analysis["indicators"], STANDARD.indicators, strict=True):
            value = _fraction(item["share_percent"]) if share else item["households"]
            cells.append((f"{indicator.number}. {indicator.name.vi}", value))
        for item, dimension in zip(analysis["dimensions"], STANDARD.dimensions, strict=True):
            value = _fraction(item["share_percent"]) if share else item["households"]
            cells.append((f"Chiều: {dimension.name.vi}", value))
        if not share:
            cells.append(("Tổng số lượt thiếu hụt", analysis["total_deprivations"]))
        return cells

    return row


def _information(info: Mapping[str, Any]) -> list[tuple[str, Any]]:
    cells: list[tuple[str, Any]] = []
    for group, vi in (("all", "tất cả hộ"), ("poor", "hộ nghèo"), ("near_poor", "hộ cận nghèo")):
        data = info["groups"][group]
        cells.append((f"Số hộ ({vi})", data["households"]))
        for item in data["indicators"]:
            cells.append((f"Thiếu hụt {item['number']} ({vi})", item["households"]))
            cells.append(("Tỷ lệ (%)", _fraction(item["share_percent"])))
        cells.append((f"Thiếu hụt cả hai ({vi})", data["together"]["households"]))
        cells.append(("Tỷ lệ (%)", _fraction(data["together"]["share_percent"])))
    return cells


SHEETS: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, Any]]]] = {
    "Biểu 1": _results,
    "Biểu 4": _deprivation("poor", False),
    "Biểu 5": _deprivation("poor", True),
    "Biểu 6": _deprivation("near_poor", False),
    "Biểu 7": _deprivation("near_poor", True),
    "Thông tin": _information,
}


async def _json(client: httpx.AsyncClient, path: str) -> Any:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return abs(actual - expected) < 1e-12
    return bool(actual == expected)


def _check_sheet(
    sheet: Worksheet, expected_rows: list[tuple[str, str, list[tuple[str, Any]]]]
) -> int:
    """Every cell of the sheet's table against the rows expected: (code, label, cells)."""
    checked = 0
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert header[:3] == ["STT", "Mã đơn vị", "Tên đơn vị"]
    assert header[3:] == [name for name, _ in expected_rows[0][2]]
    table = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert len(table) == len(expected_rows)
    for index, (row, (code, label, cells)) in enumerate(zip(table, expected_rows, strict=True)):
        is_subtotal = index == len(expected_rows) - 1
        assert row[0] == (None if is_subtotal else index + 1)
        assert row[1] == code
        assert (row[2] or "") == label  # no names without the households service
        for actual, (name, value) in zip(row[3:], cells, strict=True):
            assert _same(actual, value), (sheet.title, code, name, actual, value)
            checked += 1
        checked += 3
    return checked


async def _expected(
    client: httpx.AsyncClient, unit: str, sheet: str
) -> list[tuple[str, str, list[tuple[str, Any]]]]:
    if sheet == "Thông tin":
        children = (await _json(client, f"/api/v1/information/{ROUND}/{unit}/children"))["items"]
        total = await _json(client, f"/api/v1/information/{ROUND}/{unit}")
    else:
        children = (await _json(client, f"/api/v1/figures/{ROUND}/{unit}/children"))["items"]
        total = await _json(client, f"/api/v1/figures/{ROUND}/{unit}")
    rows = [(child["unit_code"], "", SHEETS[sheet](child)) for child in children]
    rows.append((unit, "Tổng cộng", SHEETS[sheet](total)))
    return rows


async def _generate_province(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], **body: Any
) -> httpx.Response:
    created = await client.post(
        "/api/v1/reports/jobs", json={"round_id": str(ROUND), "unit_code": "26"} | body
    )
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["status"] == "queued"
    assert job["download"] is None
    assert await report_service.run_next(sessionmaker, lease_seconds=60)
    status = await _json(client, f"/api/v1/reports/jobs/{job['id']}")
    assert status["status"] == "succeeded", status
    assert status["progress_percent"] == 100.0
    return await client.get(status["download"])


class TestEveryCell:
    @pytest.mark.parametrize("role", [Role.PROVINCE_OFFICER, Role.MINISTRY_ANALYST])
    async def test_a_province_workbook_holds_what_the_figures_api_gives_the_same_caller(
        self,
        as_role: AsRole,
        sessionmaker: async_sessionmaker[AsyncSession],
        province: dict[str, list[str]],
        role: Role,
    ) -> None:
        client = as_role(role, "26") if role is Role.PROVINCE_OFFICER else as_role(role)
        download = await _generate_province(client, sessionmaker)
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("application/vnd.openxml")
        book = load_workbook(io.BytesIO(download.content))
        checked = 0
        for title in SHEETS:
            checked += _check_sheet(book[title], await _expected(client, "26", title))
        cells_checked["count"] += checked
        print(f"{role}: {checked} cells checked")  # noqa: T201 - the size of the test, for the note
        assert checked > 500

    async def test_a_district_workbook_is_answered_at_once_and_checks_cell_by_cell(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        client = as_role(Role.MINISTRY_ANALYST)
        answer = await client.get(f"/api/v1/reports/{ROUND}/261")
        assert answer.status_code == 200, answer.text
        book = load_workbook(io.BytesIO(answer.content))
        checked = 0
        for title in SHEETS:
            checked += _check_sheet(book[title], await _expected(client, "261", title))
        cells_checked["count"] += checked
        assert checked > 200

    async def test_a_csv_report_has_the_same_cells(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        client = as_role(Role.PROVINCE_OFFICER, "26")
        answer = await client.get(
            f"/api/v1/reports/{ROUND}/262", params={"format": "csv", "report": "5"}
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        expected = await _expected(client, "262", "Biểu 5")
        assert rows[0][3:] == [name for name, _ in expected[0][2]]
        for row, (code, _, cells) in zip(rows[1:], expected, strict=True):
            assert row[1] == code
            for actual, (_, value) in zip(row[3:], cells, strict=True):
                assert (actual == "" and value is None) or _same(float(actual), value)


class TestLayout:
    async def test_the_workbook_is_set_up_for_printing_with_numbers_as_numbers(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        answer = await as_role(Role.PROVINCE_OFFICER, "26").get(f"/api/v1/reports/{ROUND}/261")
        book = load_workbook(io.BytesIO(answer.content))
        sheet = book["Biểu 1"]
        assert sheet.freeze_panes == f"D{HEADER_ROW + 1}"
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1
        assert sheet.page_setup.fitToHeight == 0
        assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
        assert sheet.cell(HEADER_ROW + 1, 4).number_format == "#,##0"
        assert sheet.cell(HEADER_ROW + 1, 7).number_format == "0.00%"
        heading = " ".join(str(sheet.cell(row, 1).value) for row in range(1, 5))
        assert "Biểu 1" in heading
        assert "VN-2022-2025" in heading
        assert "261" in heading
        assert "tạm thời" in heading  # nothing of this round is approved
        assert "Biểu đồ" in book.sheetnames
        assert book["Biểu đồ"]._images

    async def test_english_by_option_or_accept_language(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        client = as_role(Role.PROVINCE_OFFICER, "26")
        for answer in (
            await client.get(f"/api/v1/reports/{ROUND}/261", params={"lang": "en", "report": "1"}),
            await client.get(
                f"/api/v1/reports/{ROUND}/261?report=1", headers={"Accept-Language": "en-GB,en"}
            ),
        ):
            sheet = load_workbook(io.BytesIO(answer.content))["Report 1"]
            assert [c.value for c in sheet[HEADER_ROW]][:5] == [
                "No.",
                "Code",
                "Unit",
                "Resident households",
                "Surveyed households",
            ]


class TestRefusals:
    async def test_a_unit_outside_the_scope_is_404_directly_and_as_a_job(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        client = as_role(Role.COMMUNE_OFFICER, "26100")
        assert (await client.get(f"/api/v1/reports/{ROUND}/262")).status_code == 404
        job = await client.post(
            "/api/v1/reports/jobs", json={"round_id": str(ROUND), "unit_code": "26"}
        )
        assert job.status_code == 404
        assert (await client.get(f"/api/v1/reports/{ROUND}/262/charts/rates")).status_code == 404

    async def test_a_province_is_a_job_and_a_job_is_its_requesters_only(
        self,
        as_role: AsRole,
        sessionmaker: async_sessionmaker[AsyncSession],
        province: dict[str, list[str]],
    ) -> None:
        officer = as_role(Role.PROVINCE_OFFICER, "26")
        direct = await officer.get(f"/api/v1/reports/{ROUND}/26")
        assert direct.status_code == 422
        assert direct.json()["errors"][0]["loc"] == ["path", "unit_code"]
        created = (
            await officer.post(
                "/api/v1/reports/jobs", json={"round_id": str(ROUND), "unit_code": "26"}
            )
        ).json()
        assert (await officer.get(f"/api/v1/reports/jobs/{created['id']}/file")).status_code == 409
        other = as_role(Role.ADMIN)
        assert (await other.get(f"/api/v1/reports/jobs/{created['id']}")).status_code == 404

    async def test_a_csv_needs_one_report_named(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        answer = await as_role(Role.ADMIN).get(
            f"/api/v1/reports/{ROUND}/261", params={"format": "csv"}
        )
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["loc"] == ["query", "report"]


class TestCharts:
    @pytest.mark.parametrize("chart", ["rates", "deprivation"])
    async def test_svg_or_png_by_format_or_accept(
        self, as_role: AsRole, province: dict[str, list[str]], chart: str
    ) -> None:
        client = as_role(Role.PROVINCE_OFFICER, "26")
        svg = await client.get(f"/api/v1/reports/{ROUND}/26/charts/{chart}")
        assert svg.headers["content-type"] == "image/svg+xml"
        assert svg.content.lstrip().startswith(b"<?xml")
        assert b"<svg" in svg.content
        png = await client.get(
            f"/api/v1/reports/{ROUND}/26/charts/{chart}", headers={"Accept": "image/png"}
        )
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
        png = await client.get(
            f"/api/v1/reports/{ROUND}/26/charts/{chart}", params={"format": "png"}
        )
        assert png.content.startswith(b"\x89PNG")

    async def test_the_trend_covers_the_rounds_with_the_unit(
        self, as_role: AsRole, province: dict[str, list[str]]
    ) -> None:
        answer = await as_role(Role.ADMIN).get("/api/v1/reports/charts/trend/26")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/svg+xml"
        assert (await as_role(Role.ADMIN).get("/api/v1/reports/charts/trend/99")).status_code == 404


class TestTwoLevelMap:
    async def test_an_analysts_communes_of_a_two_level_province_add_up_to_it(
        self,
        as_role: AsRole,
        sessionmaker: async_sessionmaker[AsyncSession],
        new_map_province: list[str],
    ) -> None:
        """Each commune's perturbed cells are its own (they were filed under the province, as
        if under a district, and every commune of a two-level province read as empty)."""
        client = as_role(Role.MINISTRY_ANALYST)
        children = (await _json(client, f"/api/v1/figures/{ROUND}/25/children"))["items"]
        total = await _json(client, f"/api/v1/figures/{ROUND}/25")
        assert [child["unit_code"] for child in children] == new_map_province
        surveyed = [child["total"]["households"]["surveyed"] for child in children]
        assert all(surveyed)
        assert sum(surveyed) == total["total"]["households"]["surveyed"]
        for child in children:
            alone = await _json(client, f"/api/v1/figures/{ROUND}/{child['unit_code']}")
            assert alone["total"] == child["total"]
        information = await _json(client, f"/api/v1/information/{ROUND}/25/children")
        assert [i["groups"]["all"]["households"] for i in information["items"]] == surveyed
        download = await _generate_province(client, sessionmaker, unit_code="25")
        book = load_workbook(io.BytesIO(download.content))
        checked = 0
        for title in SHEETS:
            checked += _check_sheet(book[title], await _expected(client, "25", title))
        cells_checked["count"] += checked
