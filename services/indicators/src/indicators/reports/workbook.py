"""Writes report tables to XLSX (openpyxl) and CSV, in the provincial layout.

A sheet: the report's title, a heading (round, standard, unit, map, date of extraction,
approved or provisional, how fresh, whether counts are perturbed), one header row, one row per
child unit and the subtotal. Numbers are numbers (counts `#,##0`, shares as fractions with a
`0.00%` format), the header is frozen, pages are landscape and fit to the width with the header
repeated on every page. Every text cell goes through `kit.spreadsheets.safe_cell`.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from indicators.figures.schemas import UnitFigures
from indicators.information.schemas import InformationFigures
from indicators.reports.tables import Cell, Kind, Lang, Report
from kit.spreadsheets import safe_cell, safe_row

HEADER_ROW = 6  # title, three heading lines, a blank line, then the header
FIXED = (("STT", "No."), ("Mã đơn vị", "Code"), ("Tên đơn vị", "Unit"))
SUBTOTAL = ("Tổng cộng", "Total")
COUNT_FORMAT, PERCENT_FORMAT = "#,##0", "0.00%"
THIN = Side(style="thin", color="999999")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass
class Row:
    code: str
    name: str
    figures: UnitFigures
    information: InformationFigures | None = None


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
    rows: Sequence[Row]  # the child units, in code order
    subtotal: Row
    reports: Sequence[Report]
    lang: Lang
    charts: Sequence[Chart] = field(default_factory=list)


def cells(report: Report, row: Row) -> list[Cell]:
    return [column.value(row.figures, row.information) for column in report.columns]


def table(contents: Contents, report: Report) -> list[list[Cell]]:
    """The report's rows as values: the header, each child unit, the subtotal."""
    lang = contents.lang
    header: list[Cell] = [pair[lang is Lang.en] for pair in FIXED]
    header += [column.header(lang) for column in report.columns]
    rows: list[list[Cell]] = [header]
    for number, row in enumerate(contents.rows, start=1):
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
    for row in table(contents, report):
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
    sheet.row_dimensions[HEADER_ROW].height = 60
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 8
    sheet.column_dimensions["C"].width = 28
    for c in range(len(FIXED) + 1, width + 1):
        sheet.column_dimensions[get_column_letter(c)].width = 13
    sheet.freeze_panes = f"{get_column_letter(len(FIXED) + 1)}{HEADER_ROW + 1}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return sheet


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
