"""The left-behind list as an XLSX workbook, to print and take on the team's visits.

One sheet, laid out as the reports are (`reports/workbook.py`): a title, heading lines (round,
standard, unit, rule, date), one frozen header row repeated on every printed page, one row per
household longest waiting first, and two empty columns for the visit (date, what was done) that
the team fills in by hand. Landscape A4, fit to the width. Every text cell goes through
`kit.spreadsheets.safe_cell`.
"""

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from indicators.left_behind.schemas import LeftBehindHouseholdRead
from indicators.reports.tables import Lang
from kit.spreadsheets import safe_cell

HEADER_ROW = 6  # title, three heading lines, a blank line, then the header
THIN = Side(style="thin", color="999999")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
DATE_FORMAT = "dd/mm/yyyy"
LINE_HEIGHT = 14  # points
# (Vietnamese, English, width)
COLUMNS = (
    ("STT", "No.", 5),
    ("Mã hộ", "Household code", 14),
    ("Thôn/xóm", "Village", 20),
    ("Xã", "Commune", 20),
    ("Phân loại", "Class", 12),
    ("Thiếu hụt về thông tin", "Information deprivations", 38),
    ("Ngày rà soát", "Surveyed on", 12),
    ("Hỗ trợ gần nhất", "Last support", 12),
    ("Số ngày chờ", "Days waiting", 9),
    ("Ngày thăm", "Visited on", 12),
    ("Kết quả hỗ trợ", "Support given", 30),
)
CLASSES = {
    "poor": ("Hộ nghèo", "Poor"),
    "near_poor": ("Hộ cận nghèo", "Near-poor"),
    "average": ("Trung bình", "Average"),
    "not_poor": ("Không nghèo", "Not poor"),
}


@dataclass
class Contents:
    title: str
    heading: Sequence[str]
    households: Sequence[LeftBehindHouseholdRead]
    indicator_names: Mapping[str, str]  # key → name in the workbook's language
    lang: Lang


def to_xlsx(contents: Contents) -> bytes:
    book = Workbook()
    sheet: Worksheet = book.active  # type: ignore[assignment]
    english = contents.lang is Lang.en
    sheet.title = "Left behind" if english else "Danh sách"
    sheet.cell(1, 1, safe_cell(contents.title)).font = Font(bold=True, size=13)
    for offset, line in enumerate(contents.heading[:3], start=2):
        sheet.cell(offset, 1, safe_cell(line)).font = Font(italic=True)
    border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
    for c, (vi, en, width) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(HEADER_ROW, c, en if english else vi)
        cell.font, cell.fill, cell.border = Font(bold=True), HEADER_FILL, border
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        sheet.column_dimensions[get_column_letter(c)].width = width
    for number, household in enumerate(contents.households, start=1):
        r = HEADER_ROW + number
        names = [contents.indicator_names.get(k, k) for k in household.deprived_indicators]
        values: list[str | int | date | None] = [
            number,
            household.household_code,
            household.village or "",
            household.commune_name or household.commune_code,
            CLASSES.get(household.household_class, (household.household_class,) * 2)[english],
            "\n".join(names),
            household.survey_date,
            household.last_support_on,
            household.waiting_days,
            None,
            None,
        ]
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(r, c, safe_cell(value))
            cell.border = border
            cell.alignment = Alignment(vertical="top", wrap_text=c in (6, 11))
            if c in (7, 8, 10):
                cell.number_format = DATE_FORMAT
        # One line per deprivation; spreadsheet programs do not all grow a row to its text.
        sheet.row_dimensions[r].height = LINE_HEIGHT * max(1, len(names)) + 3
    sheet.row_dimensions[HEADER_ROW].height = 32
    sheet.freeze_panes = f"C{HEADER_ROW + 1}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
