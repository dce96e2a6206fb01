"""Writes report tables to XLSX (openpyxl) and CSV, in the provincial layout.

A sheet: the report's title, a heading (round, standard, unit, map, date of extraction,
approved or provisional, how fresh, whether counts are perturbed), one header row (under a row
of group headers where columns share one, as the transitions' decreases and increases do), one
row per child unit and the subtotal, then the report's notes. Numbers are numbers (counts
`#,##0`, shares as fractions with a `0.00%` format), the header is frozen, pages are landscape
and fit to the width with the header repeated on every page. Every text cell goes through
`kit.spreadsheets.safe_cell`.
"""

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from indicators.figures.schemas import UnitFigures
from indicators.reports.tables import Cell, Kind, Lang, Report, Row
from kit.spreadsheets import safe_cell, safe_row

HEADER_ROW = 6  # title, three heading lines, a blank line (or group headers), then the header
GROUP_ROW = HEADER_ROW - 1
FIXED = (("STT", "No."), ("Mã đơn vị", "Code"), ("Tên đơn vị", "Unit"))
SUBTOTAL = ("Tổng cộng", "Total")
COUNT_FORMAT, PERCENT_FORMAT = "#,##0", "0.00%"
THIN = Side(style="thin", color="999999")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass
class Heading:
    """What the heading of every sheet says."""

    lines: Sequence[str]


@dataclass
class Chart:
    title: str
    png: bytes


@dataclass
class Contents:
    heading: Heading
    rows: Sequence[Row]  # the child units, in code order (each report shows those it has)
    subtotal: Row
    reports: Sequence[Report]
    lang: Lang
    charts: Sequence[Chart] = field(default_factory=list)


def cells(report: Report, row: Row) -> list[Cell]:
    return [column.cell(row) for column in report.columns]


def table(contents: Contents, report: Report, *, grouped: bool = False) -> list[list[Cell]]:
    """The report's rows as values: the header, each child unit, the subtotal. `grouped`: a
    header names its group too (one header row, as in a CSV file: "Decreases …: Total")."""
    lang = contents.lang
    header: list[Cell] = [pair[lang is Lang.en] for pair in FIXED]
    for column in report.columns:
        name = column.header(lang)
        if grouped and column.group:
            name = f"{column.group[lang is Lang.en]}: {name}"
        header.append(name)
    rows: list[list[Cell]] = [header]
    shown = [row for row in contents.rows if report.shows(row)]
    for number, row in enumerate(shown, start=1):
        rows.append([number, row.code, row.name, *cells(report, row)])
    subtotal = contents.subtotal
    rows.append([None, subtotal.code, SUBTOTAL[lang is Lang.en], *cells(report, subtotal)])
    return rows


def to_xlsx(contents: Contents) -> bytes:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for report in contents.reports:
        _sheet(book, contents, report)
    if contents.charts:
        _charts(book, contents)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_csv(contents: Contents, report: Report) -> bytes:
    """One report as CSV (UTF-8 with a byte-order mark, which spreadsheet programs need to read
    Vietnamese): the header and the rows, shares as fractions like the workbook's cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in table(contents, report, grouped=True):
        writer.writerow(safe_row(row))
    return ("\ufeff" + buffer.getvalue()).encode()


def sheet_name(report: Report, lang: Lang) -> str:
    if report.key.isdigit():
        return f"Biểu {report.key}" if lang is Lang.vi else f"Report {report.key}"
    return "Thông tin" if lang is Lang.vi else "Information"


def _sheet(book: Workbook, contents: Contents, report: Report) -> Worksheet:
    lang = contents.lang
    sheet: Worksheet = book.create_sheet(sheet_name(report, lang))
    rows = table(contents, report)
    width = len(rows[0])
    sheet.cell(1, 1, safe_cell(report.title(lang))).font = Font(bold=True, size=13)
    for offset, line in enumerate(contents.heading.lines[:3], start=2):
        sheet.cell(offset, 1, safe_cell(line)).font = Font(italic=True)
    for r, values in enumerate(rows, start=HEADER_ROW):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(r, c, safe_cell(value))
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            if r == HEADER_ROW:
                cell.font = Font(bold=True)
                cell.fill = HEADER_FILL
                cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
                continue
            if c > len(FIXED):
                kind = report.columns[c - len(FIXED) - 1].kind
                cell.number_format = PERCENT_FORMAT if kind is Kind.percent else COUNT_FORMAT
            if r == HEADER_ROW + len(rows) - 1:
                cell.font = Font(bold=True)
    grouped = any(column.group for column in report.columns)
    if grouped:
        _group_headers(sheet, report, lang)
    for offset, note in enumerate(report.notes, start=HEADER_ROW + len(rows) + 1):
        sheet.cell(offset, 1, safe_cell(note)).font = Font(italic=True, size=9)
    sheet.row_dimensions[HEADER_ROW].height = 75 if grouped else 60
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 8
    sheet.column_dimensions["C"].width = 28
    for c in range(len(FIXED) + 1, width + 1):
        sheet.column_dimensions[get_column_letter(c)].width = report.column_width
    sheet.freeze_panes = f"{get_column_letter(len(FIXED) + 1)}{HEADER_ROW + 1}"
    first_title_row = GROUP_ROW if grouped else HEADER_ROW
    sheet.print_title_rows = f"{first_title_row}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    if report.page_breaks:
        _pages_across(sheet, report)
    else:
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return sheet


# A4 landscape less the default side margins (0.75 in each), in millimetres; and what a column
# of width 1 takes on the page: measured in LibreOffice (2.66 mm, its stand-in for Calibri is
# wider than Excel's 1.85 mm), so that the widest page fits in either program.
PRINTABLE_WIDTH_MM = 297 - 2 * 19.05
MM_PER_WIDTH = 2.7


def _pages_across(sheet: Worksheet, report: Report) -> None:
    """A table too wide for one page printed on several across, each starting at a break, with
    the unit columns repeated on each: scaled so that the widest page fits. (Spreadsheet programs
    ignore manual breaks when fitting to a number of pages, so the scale is set here.)"""
    fixed = sum(sheet.column_dimensions[get_column_letter(c)].width for c in range(1, 4))
    edges = [0, *report.page_breaks, len(report.columns)]
    widest = max(
        fixed + (end - start) * report.column_width for start, end in itertools.pairwise(edges)
    )
    scale = int(100 * PRINTABLE_WIDTH_MM / ((widest + 1) * MM_PER_WIDTH))
    sheet.page_setup.scale = max(10, min(100, scale))
    sheet.print_title_cols = f"A:{get_column_letter(len(FIXED))}"
    for after in report.page_breaks:
        sheet.col_breaks.append(Break(id=len(FIXED) + after))


def _group_headers(sheet: Worksheet, report: Report, lang: Lang) -> None:
    """The row above the header: a merged cell over each run of columns of one group. Columns
    of no group keep their header in the header row (one row holds every column's header), with
    the cell above it left blank and joined to it by the borders."""
    groups: list[tuple[str, str] | None] = [None] * len(FIXED)
    groups += [column.group for column in report.columns]
    start = 0
    for end in range(1, len(groups) + 1):
        if end < len(groups) and groups[end] == groups[start] and groups[start] is not None:
            continue
        first, last = start + 1, end  # 1-based columns of the run
        group = groups[start]
        for c in range(first, last + 1):
            above = sheet.cell(GROUP_ROW, c)
            above.fill = HEADER_FILL
            above.font = Font(bold=True)
            above.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
            if group is None:
                above.border = Border(left=THIN, right=THIN, top=THIN)
                below = sheet.cell(HEADER_ROW, c)
                below.border = Border(left=THIN, right=THIN, bottom=THIN)
                below.alignment = Alignment(wrap_text=True, vertical="top", horizontal="center")
            else:
                above.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
        if group is not None:
            sheet.cell(GROUP_ROW, first, safe_cell(group[lang is Lang.en]))
            if last > first:
                sheet.merge_cells(
                    start_row=GROUP_ROW, start_column=first, end_row=GROUP_ROW, end_column=last
                )
        start = end
    sheet.row_dimensions[GROUP_ROW].height = 30


def _charts(book: Workbook, contents: Contents) -> None:
    sheet = book.create_sheet("Biểu đồ" if contents.lang is Lang.vi else "Charts")
    for offset, line in enumerate(contents.heading.lines[:3], start=1):
        sheet.cell(offset, 1, safe_cell(line)).font = Font(italic=True)
    anchor_row = 5
    for chart in contents.charts:
        sheet.cell(anchor_row, 1, safe_cell(chart.title)).font = Font(bold=True)
        image = Image(io.BytesIO(chart.png))
        sheet.add_image(image, f"A{anchor_row + 1}")
        # Rows are 20 px high by default: leave the picture's height, and a gap.
        anchor_row += int(image.height / 20) + 4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def heading_lines(
    *,
    lang: Lang,
    year: int | None,
    standard_id: str,
    unit: str,
    figures: UnitFigures,
    extracted_at: datetime,
) -> list[str]:
    vi = lang is Lang.vi
    approved = figures.status.value == "approved"
    if figures.map.as_reported:
        map_text = (
            f"bản đồ hành chính tại ngày {figures.map.date}"
            if vi
            else f"units as reported (map of {figures.map.date})"
        )
    else:
        map_text = (
            f"quy đổi sang bản đồ hành chính ngày {figures.map.date}"
            if vi
            else f"restated onto the map of {figures.map.date}"
        )
    fresh = figures.freshness
    reflects = fresh.reflects_events_until if fresh else None
    pending = fresh is not None and fresh.recalculation is not None
    if vi:
        lines = [
            f"Kỳ rà soát: {year} · Chuẩn nghèo: {standard_id} · Đơn vị: {unit} · {map_text}",
            f"Ngày trích xuất: {extracted_at:%d/%m/%Y %H:%M} UTC · Số liệu: "
            + ("chính thức (đã phê duyệt)" if approved else "tạm thời (chưa phê duyệt)")
            + f" · {figures.approved_communes}/{figures.communes} xã đã phê duyệt",
            f"Cập nhật đến: {reflects:%d/%m/%Y %H:%M} UTC" if reflects else "Cập nhật đến: —",
        ]
        if pending:
            lines[2] += " · đang tính lại: số liệu sẽ thay đổi"
        if figures.disclosure:
            lines[2] += " · số liệu đã được làm nhiễu để bảo vệ ô nhỏ (docs/access.md)"
    else:
        lines = [
            f"Round: {year} · Standard: {standard_id} · Unit: {unit} · {map_text}",
            f"Extracted: {extracted_at:%Y-%m-%d %H:%M} UTC · Figures: "
            + ("approved (final)" if approved else "provisional (not approved)")
            + f" · {figures.approved_communes}/{figures.communes} communes approved",
            f"Reflects events until: {reflects:%Y-%m-%d %H:%M} UTC"
            if reflects
            else "Reflects events until: —",
        ]
        if pending:
            lines[2] += " · a recalculation is pending: figures will change"
        if figures.disclosure:
            lines[2] += " · counts perturbed to protect small cells (docs/access.md)"
    return lines
