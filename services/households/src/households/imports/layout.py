"""The spreadsheet layout of a bulk import (CSV and XLSX): one row per household member.

Rows with the same `household_code`, one after another, are one household. The household's own
columns (its registry facts, dwelling, water, latrine, internet, devices, income) are read from its
first row; on its other rows they are left blank or repeat the same value. Blank cells take the
API's default (`false` for the optional yes/no columns), so a commune officer fills in what the
survey form asks and nothing else. docs/bulk-import.md describes every column.
"""

import csv
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from kit.contracts.households import (
    Device,
    Disability,
    Latrine,
    Qualification,
    Relation,
    SchoolLevel,
    Sex,
    WaterSource,
    WorkingStatus,
)
from kit.spreadsheets import safe_row

Level = Literal["household", "member"]
Kind = Literal["text", "code", "national_id", "bool", "int", "number", "date", "choice", "list"]


@dataclass(frozen=True)
class Column:
    name: str
    level: Level
    path: tuple[str, ...]  # where the value goes in {"household": ..., "assessment": ...}
    kind: Kind
    required: bool
    description: str
    example: str = ""
    choices: type[StrEnum] | None = None


def _household(name: str, kind: Kind, required: bool, description: str, example: str) -> Column:
    return Column(name, "household", ("household", name), kind, required, description, example)


def _member(
    name: str,
    kind: Kind,
    required: bool,
    description: str,
    example: str,
    choices: type[StrEnum] | None = None,
) -> Column:
    return Column(name, "member", ("member", name), kind, required, description, example, choices)


def _survey(
    name: str,
    kind: Kind,
    required: bool,
    description: str,
    example: str,
    choices: type[StrEnum] | None = None,
    *,
    under: tuple[str, ...] = (),
) -> Column:
    path = ("assessment", *under, name)
    return Column(name, "household", path, kind, required, description, example, choices)


COLUMNS: tuple[Column, ...] = (
    _household("household_code", "text", True, "The household's code; on every row.", "VY-0001"),
    _household("commune_code", "code", True, "5-digit commune code.", "08707"),
    _household("village", "text", True, "Village or residential group.", "Thôn 2"),
    _household("address", "text", False, "Street address.", ""),
    _household("head_name", "text", False, "Name of the head of household.", "Nguyễn Văn Hùng"),
    _member("full_name", "text", True, "The member's full name.", "Nguyễn Văn Hùng"),
    _member("national_id", "national_id", False, "9 or 12 digits.", "026079001234"),
    _member("birth_date", "date", True, "YYYY-MM-DD or DD/MM/YYYY.", "1979-03-15"),
    _member("sex", "choice", True, "", "male", Sex),
    _member("relation_to_head", "choice", True, "One head per household.", "head", Relation),
    _member("working_status", "choice", True, "", "self_employed", WorkingStatus),
    _member("has_labour_contract", "bool", False, "Required for a wage_worker.", ""),
    _member("receives_pension_or_allowance", "bool", False, "Pension or monthly allowance.", ""),
    _member("disability", "choice", False, "Blank: none.", "", Disability),
    _member("has_health_insurance", "bool", True, "", "yes"),
    _member("attending_school", "bool", False, "", ""),
    _member("school_level", "choice", False, "Required when attending school.", "", SchoolLevel),
    _member("highest_qualification", "choice", False, "Blank: none.", "primary", Qualification),
    _member("stunted", "bool", False, "Children under 16.", ""),
    _member("underweight", "bool", False, "Children under 16.", ""),
    _survey("has_dwelling", "bool", False, "Blank: yes.", "", under=("dwelling",)),
    _survey("walls_durable", "bool", False, "Blank: yes.", "yes", under=("dwelling",)),
    _survey("columns_durable", "bool", False, "Blank: yes.", "yes", under=("dwelling",)),
    _survey("roof_durable", "bool", False, "Blank: yes.", "yes", under=("dwelling",)),
    _survey("floor_area_m2", "number", True, "Floor area in m².", "54", under=("dwelling",)),
    _survey("water_source", "choice", True, "", "piped", WaterSource),
    _survey("latrine", "choice", True, "", "septic", Latrine),
    _survey("internet_use", "bool", True, "Whether any member uses internet services.", "yes"),
    _survey("devices", "list", False, "Devices owned, separated by ';'.", "tv; smartphone", Device),
    _survey("income_score_a", "int", False, "Score A (B1); this or the income.", "180"),
    _survey("monthly_income_per_person", "int", False, "VND per person per month.", ""),
)
BY_NAME = {column.name: column for column in COLUMNS}
HOUSEHOLD_COLUMNS = tuple(column for column in COLUMNS if column.level == "household")
MEMBER_COLUMNS = tuple(column for column in COLUMNS if column.level == "member")
INCOME_COLUMNS = ("income_score_a", "monthly_income_per_person")


class LayoutError(ValueError):
    """The file's header does not follow the layout; nothing in it can be read."""


def check_header(header: list[str]) -> list[str]:
    """The column names of a header row, normalised; LayoutError naming what is wrong."""
    return checked_header(header, COLUMNS, "layout", at_least_one_of=INCOME_COLUMNS)


def checked_header(
    header: list[str],
    columns: Sequence[Column],
    layout: str,
    *,
    at_least_one_of: tuple[str, ...] = (),
) -> list[str]:
    """`header`'s column names, normalised, checked against the `columns` of a layout (named
    `layout` in the messages); LayoutError naming what is wrong."""
    known = [column.name for column in columns]
    names = [name.strip().lower() for name in header]
    while names and not names[-1]:
        names.pop()  # spreadsheets often carry empty trailing header cells
    unknown = [name or f"(blank, column {index + 1})" for index, name in enumerate(names)]
    unknown = [name for name in unknown if name not in known]
    if unknown:
        raise LayoutError(
            f"Unknown columns: {', '.join(unknown)}. The {layout}'s columns are "
            f"{', '.join(known)} (docs/bulk-import.md)."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LayoutError(f"Columns given twice: {', '.join(repeated)}.")
    missing = [column.name for column in columns if column.required and column.name not in names]
    if missing:
        raise LayoutError(f"Missing required columns: {', '.join(missing)}.")
    if at_least_one_of and not any(name in names for name in at_least_one_of):
        raise LayoutError(f"Give at least one of the columns {' or '.join(at_least_one_of)}.")
    return names


# --- Cell values ----------------------------------------------------------------------------------

_TRUE = {"có", "co", "x"}
_FALSE = {"không", "khong"}
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_SEPARATORS = re.compile(r"[;,\s]+")


def cell_value(column: Column, raw: object) -> object:
    """A cell as the API's schema reads it; None when blank. Invalid text is passed on as it is,
    so that the schema names the problem in the words the API uses."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date() if column.kind == "date" else raw.isoformat()
    if isinstance(raw, bool | date):
        return raw
    if isinstance(raw, int | float):
        return _number_cell(column, raw)
    text = str(raw).strip()
    if not text:
        return None
    match column.kind:
        case "bool":
            lowered = text.lower()
            return True if lowered in _TRUE else False if lowered in _FALSE else text
        case "date":
            day_first = _DAY_FIRST.match(text)
            if day_first:
                day, month, year = (int(part) for part in day_first.groups())
                try:
                    return date(year, month, day)
                except ValueError:
                    return text
            return text
        case "list":
            return [part for part in _SEPARATORS.split(text.lower()) if part]
        case "code" | "national_id":
            return _restore_zeros(column, text)
        case "choice":
            return text.lower()
    return text


def _number_cell(column: Column, value: float) -> object:
    integral = float(value).is_integer()
    if column.kind in ("text", "code", "national_id"):
        text = str(int(value)) if integral else str(value)
        return _restore_zeros(column, text)
    if column.kind == "int" and integral:
        return int(value)
    return value


def _restore_zeros(column: Column, text: str) -> str:
    """Leading zeros a spreadsheet dropped from a numeric-looking code, put back where that is
    unambiguous: commune codes have 5 digits; national IDs 12 (citizen ID, starting with a
    3-digit province code of at most two zeros) or 9 (old identity card)."""
    if not text.isdigit():
        return text
    if column.kind == "code" and len(text) < 5:
        return text.zfill(5)
    if column.kind == "national_id":
        if len(text) in (10, 11):
            return text.zfill(12)
        if len(text) in (7, 8):
            return text.zfill(9)
    return text


def spreadsheet_rows(document: dict[str, Any]) -> list[dict[str, object]]:
    """A `{"household": ..., "assessment": ...}` document (a line of the JSON-lines layout) as
    the spreadsheet layout's rows: one per member, the household's columns on the first only."""
    rows: list[dict[str, object]] = []
    for index, member in enumerate(document["assessment"]["members"]):
        row: dict[str, object] = {}
        for column in COLUMNS:
            if column.level == "member":
                value = member.get(column.name)
            elif index == 0 or column.name == "household_code":
                value = _lookup(document, column.path)
            else:
                value = None
            row[column.name] = _as_cell(value)
        rows.append(row)
    return rows


def _lookup(document: dict[str, Any], path: tuple[str, ...]) -> object:
    value: Any = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _as_cell(value: object) -> object:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return value


# --- Templates ------------------------------------------------------------------------------------

TEMPLATE_NAME = "households-import-template"
SHEET = "households"


def example_rows() -> list[dict[str, str]]:
    """A 2-member household as the template shows it: household columns on its first row."""
    head = {column.name: column.example for column in COLUMNS}
    child = {column.name: "" for column in COLUMNS} | {
        "household_code": head["household_code"],
        "full_name": "Nguyễn Minh Anh",
        "birth_date": "2014-09-02",
        "sex": "female",
        "relation_to_head": "child",
        "working_status": "student",
        "has_health_insurance": "yes",
        "attending_school": "yes",
        "school_level": "primary",
    }
    return [head, child]


def csv_template() -> bytes:
    """The CSV template: the header and an example household (UTF-8 with a BOM, for Excel)."""
    return csv_file(COLUMNS, example_rows())


# Built once: a workbook takes a third of a second to write, on the event loop.
@functools.cache
def xlsx_template() -> bytes:
    """The XLSX template: the sheet to fill (with lists to pick values from) and a sheet
    describing every column."""
    return workbook_file(SHEET, COLUMNS, example_rows())


def csv_file(columns: Sequence[Column], rows: list[dict[str, str]]) -> bytes:
    """A CSV template of a layout: its header and example rows (UTF-8 with a BOM, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(safe_row(column.name for column in columns))
    writer.writerows(safe_row(row[column.name] for column in columns) for row in rows)
    return out.getvalue().encode("utf-8-sig")


def workbook_file(sheet_name: str, columns: Sequence[Column], rows: list[dict[str, str]]) -> bytes:
    """An XLSX template of a layout: the sheet to fill, with its example rows and lists to pick
    values from, and a sheet describing every column."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = sheet_name
    sheet.append(safe_row(column.name for column in columns))
    for row in rows:
        sheet.append(safe_row(_typed_example(column, row[column.name]) for column in columns))
    sheet.freeze_panes = "B2"
    highlight = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        header = sheet[f"{letter}1"]
        header.font = Font(bold=True)
        if column.required:
            header.fill = highlight
        sheet.column_dimensions[letter].width = max(12, len(column.name) + 2)
        cells = f"{letter}2:{letter}5000"
        if column.kind in ("text", "code", "national_id"):
            # Text, so that the spreadsheet keeps the leading zeros of codes and IDs. Set on the
            # column, not on cells: styled empty cells would count as rows of the sheet.
            sheet.column_dimensions[letter].number_format = "@"
            for number in range(2, len(rows) + 2):
                sheet[f"{letter}{number}"].number_format = "@"
        choices = _choices(column)
        if choices:
            validation = DataValidation(
                type="list", formula1=f'"{",".join(choices)}"', allow_blank=True
            )
            validation.add(cells)
            sheet.add_data_validation(validation)
    guide = workbook.create_sheet("columns")
    guide.append(["column", "level", "required", "values", "meaning"])
    for column in columns:
        values = ", ".join(column.choices) if column.choices else _VALUES.get(column.kind, "")
        required = "yes" if column.required else ""
        guide.append(safe_row([column.name, column.level, required, values, column.description]))
    for letter, width in zip("ABCDE", (30, 10, 9, 60, 50), strict=True):
        guide.column_dimensions[letter].width = width
        guide[f"{letter}1"].font = Font(bold=True)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_VALUES = {
    "bool": "yes/no (also true/false, 1/0, có/không)",
    "date": "YYYY-MM-DD or DD/MM/YYYY",
    "int": "whole number",
    "number": "number",
    "code": "5 digits",
    "national_id": "9 or 12 digits",
}


def _choices(column: Column) -> list[str]:
    if column.kind == "bool":
        return ["yes", "no"]
    if column.kind == "choice" and column.choices is not None:
        return [member.value for member in column.choices]
    return []


def _typed_example(column: Column, value: str) -> Any:
    if value and column.kind == "int":
        return int(value)
    if value and column.kind == "number":
        return float(value)
    return value or None
