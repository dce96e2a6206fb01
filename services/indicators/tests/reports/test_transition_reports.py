"""Reports 2 and 3 (transitions of poor and near-poor households, *diễn biến*): every cell of a
generated sheet (and CSV) against the JSON the same caller gets from `/api/v1/transitions`, for
an officer (exact counts) and an analyst (perturbed counts); the refusals.

The expected columns are written here from the JSON answers in the templates' order,
independently of the report module's column definitions.
"""

import csv
import io
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.reports import service as report_service
from kit.auth import Role

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ROUND = UUID("00000000-0000-4000-8000-0000000000c1")  # the rounds of conftest.py: 2024
AsRole = Callable[..., httpx.AsyncClient]
HEADER_ROW = 6

DECREASES = {
    "poor": ["to_near_poor", "above_near_poor", "other_moved_away", "other_gone", "other_smaller"],
    "near_poor": ["to_poor", "above_near_poor", "other_moved_away", "other_gone", "other_smaller"],
}
INCREASES = {
    "poor": ["from_near_poor", "fell_back", "newly", "other_moved_in", "other_appeared"],
    "near_poor": ["from_poor", "fell_back", "newly", "other_moved_in", "other_appeared"],
}
PERSONS_ONLY = {"other_smaller", "other_larger"}
SHEETS = {"Biểu 2": "poor", "Biểu 3": "near_poor"}


def _cells(unit: dict[str, Any], table: str) -> list[Any]:
    """A unit's row: for households, then persons: start, decreases (total, then each row),
    increases (total, then each row), end."""
    row: list[Any] = []
    for counted in ("households", "persons"):
        found = unit[table][counted]
        decreases = [r for r in DECREASES[table] if counted == "persons" or r not in PERSONS_ONLY]
        increases = [*INCREASES[table], "other_returned"]
        if counted == "persons":
            increases.append("other_larger")
        row.append(found["start"])
        row.append(found["decreases_total"])
        row += [found["decreases"][name] for name in decreases]
        row.append(found["increases_total"])
        row += [found["increases"][name] for name in increases]
        row.append(found["end"])
    return row


def _expected(answer: dict[str, Any], table: str) -> list[tuple[str, list[Any]]]:
    rows = [(child["unit_code"], _cells(child, table)) for child in answer["children"]]
    rows.append((answer["unit"]["unit_code"], _cells(answer["unit"], table)))
    return rows


def _check_sheet(sheet: Worksheet, expected: list[tuple[str, list[Any]]]) -> int:
    header = [cell.value for cell in sheet[HEADER_ROW]]
    assert header[:3] == ["STT", "Mã đơn vị", "Tên đơn vị"]
    assert len(header) == 3 + len(expected[0][1])
    table = list(sheet.iter_rows(min_row=HEADER_ROW + 1, values_only=True))[: len(expected)]
    checked = 0
    for index, (row, (code, cells)) in enumerate(zip(table, expected, strict=True)):
        subtotal = index == len(expected) - 1
        assert row[0] == (None if subtotal else index + 1)
        assert row[1] == code
        if subtotal:
            assert row[2] == "Tổng cộng"
        assert list(row[3:]) == cells, (sheet.title, code)
        checked += len(cells)
    return checked


async def _json(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _province_workbook(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[dict[str, Any], bytes]:
    created = await client.post(
        "/api/v1/reports/jobs", json={"round_id": str(ROUND), "unit_code": "26"}
    )
    assert created.status_code == 202, created.text
    assert await report_service.run_next(sessionmaker, lease_seconds=60)
    job = await _json(client, f"/api/v1/reports/jobs/{created.json()['id']}")
    assert job["status"] == "succeeded", job
    download = await client.get(job["download"])
    assert download.status_code == 200
    return job, download.content


class TestEveryCell:
    @pytest.mark.parametrize("role", [Role.PROVINCE_OFFICER, Role.MINISTRY_ANALYST])
    async def test_a_province_workbooks_reports_2_and_3_are_the_transitions_api_answer(
        self,
        as_role: AsRole,
        sessionmaker: async_sessionmaker[AsyncSession],
        earlier_round: UUID,
        role: Role,
    ) -> None:
        client = as_role(role, "26") if role is Role.PROVINCE_OFFICER else as_role(role)
        job, content = await _province_workbook(client, sessionmaker)
        assert job["from_round_id"] == str(earlier_round)  # the previous round, by default
        book = load_workbook(io.BytesIO(content))
        answer = await _json(client, f"/api/v1/transitions/{earlier_round}/{ROUND}/26")
        assert (answer["disclosure"] is None) is (role is Role.PROVINCE_OFFICER)
        checked = 0
        for title, table in SHEETS.items():
            sheet = book[title]
            checked += _check_sheet(sheet, _expected(answer, table))
            assert "2023 – 2024" in str(sheet.cell(1, 1).value)
            notes = " ".join(str(cell.value) for cell in sheet["A"][HEADER_ROW + 1 :] if cell.value)
            assert "after_other_class=from_other_class" in notes
            assert ("làm nhiễu" in notes) is (role is Role.MINISTRY_ANALYST)
        print(f"{role}: {checked} transition cells checked")  # noqa: T201 - the size of the test
        assert checked == 2 * 4 * 30  # 2 sheets, 3 districts and the total, 30 columns
        # Sheets in the templates' order.
        assert book.sheetnames[:4] == ["Biểu 1", "Biểu 2", "Biểu 3", "Biểu 4"]

    async def test_an_analysts_cells_are_perturbed_as_in_json_and_an_officers_exact(
        self,
        as_role: AsRole,
        sessionmaker: async_sessionmaker[AsyncSession],
        earlier_round: UUID,
    ) -> None:
        url = f"/api/v1/reports/{ROUND}/261"
        params = {"report": "2", "from_round_id": str(earlier_round)}
        analyst, officer = as_role(Role.MINISTRY_ANALYST), as_role(Role.PROVINCE_OFFICER, "26")
        sheets = []
        for client in (analyst, officer):
            answer = await client.get(url, params=params)
            assert answer.status_code == 200, answer.text
            sheets.append(load_workbook(io.BytesIO(answer.content))["Biểu 2"])
        transitions = f"/api/v1/transitions/{earlier_round}/{ROUND}/261"
        perturbed = _expected(await _json(analyst, transitions), "poor")
        exact = _expected(await _json(officer, transitions), "poor")
        _check_sheet(sheets[0], perturbed)
        _check_sheet(sheets[1], exact)
        assert perturbed != exact  # small cells moved for the analyst, as in its JSON

    async def test_a_csv_report_3_has_the_same_cells_with_its_group_in_each_header(
        self, as_role: AsRole, earlier_round: UUID
    ) -> None:
        client = as_role(Role.PROVINCE_OFFICER, "26")
        answer = await client.get(
            f"/api/v1/reports/{ROUND}/262", params={"format": "csv", "report": "3"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
        assert rows[0][4] == "Số hộ cận nghèo giảm trong kỳ: Tổng số"
        expected = _expected(
            await _json(client, f"/api/v1/transitions/{earlier_round}/{ROUND}/262"), "near_poor"
        )
        assert len(rows) == 1 + len(expected)
        for row, (code, cells) in zip(rows[1:], expected, strict=True):
            assert row[1] == code
            assert [int(value) for value in row[3:]] == cells


class TestRefusals:
    async def test_rounds_in_the_wrong_order_are_refused_naming_both(
        self, as_role: AsRole, earlier_round: UUID
    ) -> None:
        answer = await as_role(Role.ADMIN).get(
            f"/api/v1/reports/{earlier_round}/261",
            params={"report": "2", "from_round_id": str(ROUND)},
        )
        assert answer.status_code == 422
        assert [error["loc"] for error in answer.json()["errors"]] == [
            ["query", "from_round_id"],
            ["path", "round_id"],
        ]

    async def test_a_job_in_the_wrong_order_is_refused_naming_its_body(
        self, as_role: AsRole, earlier_round: UUID
    ) -> None:
        answer = await as_role(Role.ADMIN).post(
            "/api/v1/reports/jobs",
            json={
                "round_id": str(earlier_round),
                "unit_code": "26",
                "from_round_id": str(ROUND),
            },
        )
        assert answer.status_code == 422
        assert [error["loc"] for error in answer.json()["errors"]] == [
            ["body", "from_round_id"],
            ["body", "round_id"],
        ]

    async def test_the_first_round_has_no_report_2_and_its_workbook_none(
        self, as_role: AsRole, earlier_round: UUID
    ) -> None:
        client = as_role(Role.ADMIN)
        alone = await client.get(f"/api/v1/reports/{earlier_round}/261", params={"report": "2"})
        assert alone.status_code == 422
        assert alone.json()["errors"][0]["loc"] == ["query", "from_round_id"]
        whole = await client.get(f"/api/v1/reports/{earlier_round}/261")
        assert whole.status_code == 200
        sheets = load_workbook(io.BytesIO(whole.content)).sheetnames
        assert "Biểu 1" in sheets
        assert "Biểu 2" not in sheets
        assert "Biểu 3" not in sheets

    async def test_restated_onto_another_map_reports_2_and_3_are_refused_or_left_out(
        self, as_role: AsRole, earlier_round: UUID
    ) -> None:
        client = as_role(Role.ADMIN)
        alone = await client.get(
            f"/api/v1/reports/{ROUND}/261", params={"report": "3", "map": "2026-01-01"}
        )
        assert alone.status_code == 422
        assert alone.json()["errors"][0]["loc"] == ["query", "map"]

    async def test_a_unit_outside_the_scope_is_404(
        self, as_role: AsRole, earlier_round: UUID
    ) -> None:
        client = as_role(Role.COMMUNE_OFFICER, "26100")
        answer = await client.get(f"/api/v1/reports/{ROUND}/26200", params={"report": "2"})
        assert answer.status_code == 404
        own = await client.get(f"/api/v1/reports/{ROUND}/26100", params={"report": "2"})
        assert own.status_code == 200, own.text
