"""The spreadsheet layout of a support-records import (CSV and XLSX): one row per record.

Each row names the household by its code in its commune, what was given or done, when, and the
team member who gave it (their id, as `GET /api/v1/communes/{code}/digital-teams` lists it).
docs/bulk-import.md describes every column.
"""

import functools

from households.imports.layout import Column, Kind, checked_header, csv_file, workbook_file
from kit.contracts.households import Device, SupportKind

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


def check_header(header: list[str]) -> list[str]:
    """The column names of a header row, normalised; LayoutError naming what is wrong."""
    return checked_header(header, COLUMNS, "support layout")


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
    return csv_file(COLUMNS, example_rows())


@functools.cache
def xlsx_template() -> bytes:
    """The XLSX template: the sheet to fill (lists to pick kinds and devices from) and a sheet
    describing every column."""
    return workbook_file(SHEET, COLUMNS, example_rows())
