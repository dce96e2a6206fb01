"""The spreadsheet layout (CSV and XLSX): the generator's households survive it unchanged, and
what spreadsheets do to cells (numbers for codes, dates, yes/no words) is read as meant."""

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.household.models import Assessment, Household
from households.imports.layout import BY_NAME, COLUMNS, SHEET, cell_value, spreadsheet_rows


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
async def test_the_generators_households_survive_the_spreadsheet_layout(
    extension: str,
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    documents = files.documents(25)
    content = files.csv(documents) if extension == "csv" else files.xlsx(documents)
    accepted = await upload(f"households.{extension}", content)
    assert accepted.status_code == 202, accepted.text

    await run_jobs()

    done = (await client.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
    members = sum(len(document["assessment"]["members"]) for document in documents)
    assert (done["households_imported"], done["rows_failed"]) == (25, 0)
    assert done["rows_done"] == done["total_rows"] == members
    async with sessionmaker() as session:
        stored = (await session.exec(select(Household, Assessment).join(Assessment))).all()
    by_code = {household.household_code: (household, survey) for household, survey in stored}
    for document in documents:
        household, survey = by_code[document["household"]["household_code"]]
        assert household.model_dump(include=set(document["household"])) == document["household"]
        facts = {field: getattr(survey, field) for field in document["assessment"]}
        assert facts == document["assessment"]


def test_cells_are_read_as_a_commune_officer_means_them() -> None:
    assert cell_value(BY_NAME["commune_code"], 8707) == "08707"
    assert cell_value(BY_NAME["commune_code"], "8707") == "08707"
    assert cell_value(BY_NAME["national_id"], 26079001234) == "026079001234"
    assert cell_value(BY_NAME["national_id"], 12345678.0) == "012345678"
    assert cell_value(BY_NAME["national_id"], "26079001234") == "026079001234"
    assert cell_value(BY_NAME["household_code"], 1234.0) == "1234"
    assert cell_value(BY_NAME["birth_date"], datetime(1979, 3, 15)) == date(1979, 3, 15)
    assert cell_value(BY_NAME["birth_date"], "15/03/1979") == date(1979, 3, 15)
    assert cell_value(BY_NAME["birth_date"], "31/02/1979") == "31/02/1979"  # the schema says why
    assert cell_value(BY_NAME["has_health_insurance"], "Có") is True
    assert cell_value(BY_NAME["has_health_insurance"], "không") is False
    assert cell_value(BY_NAME["has_health_insurance"], "Yes") == "Yes"  # pydantic reads it
    assert cell_value(BY_NAME["devices"], "TV; smartphone,radio") == ["tv", "smartphone", "radio"]
    assert cell_value(BY_NAME["sex"], " Female ") == "female"
    assert cell_value(BY_NAME["income_score_a"], 180.0) == 180
    assert cell_value(BY_NAME["floor_area_m2"], 54) == 54
    assert cell_value(BY_NAME["address"], "  ") is None


async def test_a_workbook_as_a_spreadsheet_program_saves_it_imports(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    [document] = files.documents(1)
    document["assessment"]["members"][0]["national_id"] = "026079001234"
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "notes"  # the households sheet is found by its name, not its place
    sheet = workbook.create_sheet(SHEET)
    sheet.append([column.name.upper() for column in COLUMNS])  # headers in any case
    for row in spreadsheet_rows(document):
        cells = dict(row)
        cells["commune_code"] = int(str(cells["commune_code"])) if cells["commune_code"] else None
        cells["national_id"] = int(str(cells["national_id"])) if cells["national_id"] else None
        cells["birth_date"] = datetime.fromisoformat(str(cells["birth_date"]))
        sheet.append(list(cells.values()))
    sheet.append([])  # blank rows, as spreadsheets keep them
    sheet["C40"].number_format = "@"  # a formatted empty cell: the sheet seems to have 40 rows
    out = io.BytesIO()
    workbook.save(out)

    accepted = await upload("households.xlsx", out.getvalue())
    await run_jobs()

    done = (await client.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
    assert (done["households_imported"], done["rows_failed"]) == (1, 0), done
    members = len(document["assessment"]["members"])
    assert done["rows_done"] == done["total_rows"] == members
    async with sessionmaker() as session:
        [survey] = (await session.exec(select(Assessment))).all()
    assert survey.members == document["assessment"]["members"]


def test_every_column_and_its_values_are_documented() -> None:
    text = (Path(__file__).parents[4] / "docs" / "bulk-import.md").read_text(encoding="utf-8")
    surveys = text.split("\n## Support records", 1)[
        0
    ]  # the support columns have a table of their own
    lines = [line for line in surveys.splitlines() if line.startswith("| `")]
    rows = {line.split("|")[1].strip(): line for line in lines}
    for column in COLUMNS:
        row = rows.get(f"`{column.name}`")
        assert row is not None, f"{column.name} is not in docs/bulk-import.md"
        required = row.split("|")[3].strip().startswith("yes")
        assert required == column.required, row
        for value in column.choices or ():
            assert f"`{value.value}`" in row, f"{column.name}: {value.value} is not documented"
