"""The spreadsheet layout of a support-records import (CSV and XLSX): one row per record.

Each row names the household by its code in its commune, what was given or done, when, and the
team member who gave it (their id, as `GET /api/v1/communes/{code}/digital-teams` lists it).
docs/bulk-import.md describes every column.
"""

import csv
import functools
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from households.imports.layout import Column, Kind, LayoutError
from kit.contracts.households import Device, SupportKind
from kit.spreadsheets import safe_row

TEMPLATE_NAME = "support-import-template"
SHEET = "support"
EXAMPLE_MEMBER = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def _column(
    name: str,
    kind: Kind,
    required: bool,
    description: str,
    example: str,
    choices: type | None = None,
) -> Column:
    return Column(
        name, "household", ("support", name), kind, required, description, example, choices
    )


COLUMNS: tuple[Column, ...] = (
    _column("household_code", "text", True, "The household's code in its commune.", "VY-0001"),
    _column("commune_code", "code", True, "5-digit code of the household's commune.", "08707"),
    _column("kind", "choice", True, "What was given or done.", "device_given", SupportKind),
    _column(
        "device", "choice", False, "The device given (device_given only).", "smartphone", Device
    ),
    _column("subscription_months", "int", False, "Months (internet_subscription only).", ""),
    _column("given_on", "date", True, "YYYY-MM-DD or DD/MM/YYYY.", "2026-10-15"),
    _column("member_id", "text", True, "The team member's id.", EXAMPLE_MEMBER),
    _column("note", "text", False, "A note about the visit.", "Máy do doanh nghiệp tài trợ."),
)
BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED = tuple(column.name for column in COLUMNS if column.required)


def check_header(header: list[str]) -> list[str]:
    """The column names of a header row, normalised; LayoutError naming what is wrong."""
    names = [name.strip().lower() for name in header]
    while names and not names[-1]:
        names.pop()
    unknown = [name or f"(blank, column {index + 1})" for index, name in enumerate(names)]
    unknown = [name for name in unknown if name not in BY_NAME]
    if unknown:
        raise LayoutError(
            f"Unknown columns: {', '.join(unknown)}. The support layout's columns are "
            f"{', '.join(BY_NAME)} (docs/bulk-import.md)."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LayoutError(f"Columns given twice: {', '.join(repeated)}.")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise LayoutError(f"Missing required columns: {', '.join(missing)}.")
    return names


def example_rows() -> list[dict[str, str]]:
    phone = {column.name: column.example for column in COLUMNS}
    subscription = phone | {
        "kind": "internet_subscription",
        "device": "",
        "subscription_months": "12",
        "note": "",
    }
    return [phone, subscription]


def csv_template() -> bytes:
    """The CSV template: the header and two example records (UTF-8 with a BOM, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(safe_row(column.name for column in COLUMNS))
    writer.writerows(safe_row(row[column.name] for column in COLUMNS) for row in example_rows())
    return out.getvalue().encode("utf-8-sig")


@functools.cache
def xlsx_template() -> bytes:
    """The XLSX template: the sheet to fill (lists to pick kinds and devices from) and a sheet
    describing every column."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append(safe_row(column.name for column in COLUMNS))
    for row in example_rows():
        sheet.append(
            safe_row(
                int(row[c.name]) if c.kind == "int" and row[c.name] else row[c.name] or None
                for c in COLUMNS
            )
        )
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}1"].font = Font(bold=True)
        sheet.column_dimensions[letter].width = max(14, len(column.name) + 2)
        if column.kind in ("text", "code"):
            sheet.column_dimensions[letter].number_format = "@"  # keeps codes' leading zeros
        if column.choices is not None:
            values = ",".join(member.value for member in column.choices)
            validation = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
            validation.add(f"{letter}2:{letter}5000")
            sheet.add_data_validation(validation)
    guide = workbook.create_sheet("columns")
    guide.append(["column", "required", "values", "meaning"])
    for column in COLUMNS:
        values = ", ".join(column.choices) if column.choices else column.kind
        guide.append(
            safe_row([column.name, "yes" if column.required else "", values, column.description])
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
