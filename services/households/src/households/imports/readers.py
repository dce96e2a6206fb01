"""Reading an uploaded file into households, each with the file rows it came from.

Three formats, one result: a stream of `FileHousehold`s, in file order, each holding the
`{"household": ..., "assessment": ...}` document the API's schemas validate, the row of each
member, and the problems found while reading (a cell that contradicts the household's first row,
a line that is not JSON). Rows are numbered as a person sees them: the line of a JSON-lines file,
the row of a spreadsheet or CSV (the header is row 1).

Readers are plain iterators over a file on disk, run in a worker thread by the job. None reads a
line longer than IMPORT_MAX_LINE_BYTES, and a workbook's size is checked before it is opened
(`limits`, `workbook`).
"""

import codecs
import csv
import json
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import load_workbook

from households.imports import support_layout
from households.imports.layout import (
    BY_NAME,
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    SHEET,
    LayoutError,
    cell_value,
    check_header,
)
from households.imports.limits import LimitExceeded, Limits, lines
from households.imports.models import ImportFormat, ImportKind
from households.imports.workbook import check_sheets


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    message: str


@dataclass
class FileHousehold:
    """One household as the file gives it."""

    first_row: int
    last_row: int
    code: str | None
    document: dict[str, Any]
    member_rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    spreadsheet: bool = False  # errors name columns (spreadsheet) or JSON paths (JSON lines)

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1


def read(path: Path, file_format: ImportFormat, limits: Limits) -> Iterator[FileHousehold]:
    """The households of the file, in order. Raises LayoutError if the header is wrong, or a
    line is too long (LimitExceeded)."""
    match file_format:
        case ImportFormat.jsonl:
            return read_jsonl(path, limits)
        case ImportFormat.csv:
            return _group(_csv_rows(path, limits))
        case ImportFormat.xlsx:
            return _group(_xlsx_rows(path))


def check(
    path: Path, file_format: ImportFormat, limits: Limits, kind: ImportKind = ImportKind.surveys
) -> None:
    """Raise LayoutError unless the file starts the way its format's layout says. A workbook's
    parts must have been checked (`workbook.check_archive`) before."""
    if kind == ImportKind.support:
        _check_support(path, file_format, limits)
        return
    if file_format == ImportFormat.jsonl:
        with path.open("rb") as binary:
            for line in lines(binary, limits):
                if line.strip():
                    _check_json_line(line)
                    return
        raise LayoutError("The file has no lines.")
    rows = _csv_rows(path, limits) if file_format == ImportFormat.csv else _xlsx_rows(path)
    try:
        next(rows)
    except StopIteration:
        raise LayoutError("The file has no header row.") from None
    finally:
        rows.close()


def count_rows(path: Path, file_format: ImportFormat, limits: Limits) -> int | None:
    """How many data rows the file has (for progress), or None where that is not known cheaply
    or the file cannot be read to the end (reading it says where and why). LimitExceeded if it
    has more rows, cells or longer lines than allowed: found before any row is imported."""
    if file_format == ImportFormat.xlsx:
        check_sheets(path, limits)
    try:
        return _count_rows(path, file_format, limits)
    except LimitExceeded:
        raise
    except Exception:
        return None


def _count_rows(path: Path, file_format: ImportFormat, limits: Limits) -> int | None:
    if file_format == ImportFormat.jsonl:
        with path.open("rb") as binary:
            return sum(1 for _ in lines(binary, limits))
    if file_format == ImportFormat.csv:
        with path.open("rb") as binary:
            return max(sum(1 for _ in csv.reader(_text_lines(binary, limits))) - 1, 0)
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = _sheet(workbook)
        return max(sheet.max_row - 1, 0) if sheet.max_row else None
    finally:
        workbook.close()


# --- JSON lines -----------------------------------------------------------------------------------


def _check_json_line(line: bytes) -> None:
    try:
        parsed = json.loads(line)
    except ValueError as error:
        raise LayoutError(f"Line 1 is not JSON: {error}.") from error
    if not isinstance(parsed, dict) or not {"household", "assessment"} <= parsed.keys():
        raise LayoutError('Each line must be {"household": {...}, "assessment": {...}}.')


def read_jsonl(path: Path, limits: Limits) -> Iterator[FileHousehold]:
    with path.open("rb") as binary:
        for number, line in enumerate(lines(binary, limits), start=1):
            if not line.strip():
                continue
            item = FileHousehold(first_row=number, last_row=number, code=None, document={})
            try:
                parsed = json.loads(line)
            except ValueError as error:
                item.problems.append(RowProblem(number, "line", f"Not valid JSON: {error}."))
                yield item
                continue
            if not isinstance(parsed, dict):
                item.problems.append(RowProblem(number, "line", "Expected a JSON object."))
                yield item
                continue
            for key in sorted(parsed.keys() - {"household", "assessment"}):
                item.problems.append(RowProblem(number, key, "Unknown field."))
            for part in ("household", "assessment"):
                if not isinstance(parsed.get(part), dict):
                    item.problems.append(RowProblem(number, part, "Expected a JSON object."))
            item.document = {
                part: parsed[part] for part in ("household", "assessment") if part in parsed
            }
            code = item.document.get("household", {}).get("household_code")
            item.code = code if isinstance(code, str) else None
            yield item


# --- Spreadsheets (CSV and XLSX) ------------------------------------------------------------------

# (row number, cells by column name); the first item is the header (row 1, names to themselves).
SheetRow = tuple[int, dict[str, object]]


def _text_lines(binary: BinaryIO, limits: Limits) -> Iterator[str]:
    """The file's lines as UTF-8 text (a byte-order mark dropped), each of a bounded length."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    for line in lines(binary, limits):
        yield decoder.decode(line)


HeaderCheck = Callable[[list[str]], list[str]]


def _csv_rows(
    path: Path, limits: Limits, check_header: HeaderCheck = check_header
) -> Generator[SheetRow]:
    with path.open("rb") as binary:
        reader = csv.reader(_text_lines(binary, limits))
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            raise LayoutError(f"The header row cannot be read: {error}.") from error
        names = check_header(header)
        yield 1, dict(zip(names, names, strict=True))
        number = 1
        try:
            for number, cells in enumerate(reader, start=2):
                yield number, dict(zip(names, cells, strict=False))
        except UnicodeDecodeError as error:
            raise LayoutError(f"Row {number + 1} is not UTF-8 text: {error.reason}.") from error
        except csv.Error as error:
            raise LayoutError(f"Row {number + 1} cannot be read: {error}.") from error


def _xlsx_rows(path: Path, check_header: HeaderCheck = check_header) -> Generator[SheetRow]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise LayoutError(f"The file is not an XLSX workbook: {error}.") from error
    try:
        rows = _sheet(workbook).iter_rows(values_only=True)
        try:
            header = next(rows)
        except StopIteration:
            return
        except Exception as error:
            raise LayoutError(f"The workbook cannot be read: {error}.") from error
        names = check_header(["" if cell is None else str(cell) for cell in header])
        yield 1, dict(zip(names, names, strict=True))
        number = 1
        try:
            for number, cells in enumerate(rows, start=2):
                yield number, dict(zip(names, cells, strict=False))
        except Exception as error:  # a damaged part of the workbook, found as it is read
            message = f"Row {number + 1} of the workbook cannot be read: {error}."
            raise LayoutError(message) from error
    finally:
        workbook.close()


def _sheet(workbook: Any) -> Any:
    return workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]


def _group(rows: Iterator[SheetRow]) -> Iterator[FileHousehold]:
    """Consecutive rows with the same household code, as one household each."""
    try:
        next(rows)  # the header, checked by the reader
    except StopIteration:
        return
    current: FileHousehold | None = None
    for number, cells in rows:
        if all(value is None or str(value).strip() == "" for value in cells.values()):
            continue  # blank rows are allowed anywhere (spreadsheets keep some)
        code = cell_value(BY_NAME["household_code"], cells.get("household_code"))
        if current is not None and code is not None and code == current.code:
            _add_member(current, number, cells)
            continue
        if current is not None:
            yield current
        current = FileHousehold(
            first_row=number,
            last_row=number,
            code=str(code) if code is not None else None,
            document={"household": {}, "assessment": {"members": []}},
            spreadsheet=True,
        )
        for column in HOUSEHOLD_COLUMNS:
            value = cell_value(column, cells.get(column.name))
            if value is not None:
                _place(current.document, column.path, value)
        _add_member(current, number, cells)
    if current is not None:
        yield current


def _add_member(household: FileHousehold, number: int, cells: dict[str, object]) -> None:
    member = {
        column.name: value
        for column in MEMBER_COLUMNS
        if (value := cell_value(column, cells.get(column.name))) is not None
    }
    household.document["assessment"]["members"].append(member)
    household.member_rows.append(number)
    household.last_row = number
    if number == household.first_row:
        return
    for column in HOUSEHOLD_COLUMNS:
        value = cell_value(column, cells.get(column.name))
        if value is not None and value != _get(household.document, column.path):
            household.problems.append(
                RowProblem(
                    number,
                    column.name,
                    f"Differs from the household's first row (row {household.first_row}): leave "
                    "it blank on the other members' rows.",
                )
            )


def _place(document: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


def _get(document: dict[str, Any], path: tuple[str, ...]) -> object:
    for key in path[:-1]:
        document = document.get(key, {})
    return document.get(path[-1])


# --- Support records (one a row) ------------------------------------------------------------------


@dataclass
class FileSupport:
    """One support record as the file gives it: its row, the `SupportInput` document and the
    household it names by code in its commune."""

    row: int
    document: dict[str, Any]
    commune_code: str | None
    household_code: str | None

    @property
    def first_row(self) -> int:
        return self.row

    @property
    def last_row(self) -> int:
        return self.row

    @property
    def rows(self) -> int:
        return 1


def _support_rows(path: Path, file_format: ImportFormat, limits: Limits) -> Generator[SheetRow]:
    if file_format == ImportFormat.csv:
        return _csv_rows(path, limits, support_layout.check_header)
    if file_format == ImportFormat.xlsx:
        return _xlsx_rows(path, support_layout.check_header)
    raise LayoutError("Support records are imported from CSV or XLSX, not JSON lines.")


def _check_support(path: Path, file_format: ImportFormat, limits: Limits) -> None:
    rows = _support_rows(path, file_format, limits)
    try:
        next(rows)
    except StopIteration:
        raise LayoutError("The file has no header row.") from None
    finally:
        rows.close()


def read_support(path: Path, file_format: ImportFormat, limits: Limits) -> Iterator[FileSupport]:
    """The support records of the file, one a non-blank row, in order."""
    rows = _support_rows(path, file_format, limits)
    try:
        next(rows)  # the header, checked by the reader
    except StopIteration:
        return
    for number, cells in rows:
        if all(value is None or str(value).strip() == "" for value in cells.values()):
            continue
        values = {
            column.name: value
            for column in support_layout.COLUMNS
            if (value := cell_value(column, cells.get(column.name))) is not None
        }
        commune, code = values.pop("commune_code", None), values.pop("household_code", None)
        yield FileSupport(
            row=number,
            document=values,
            commune_code=str(commune) if commune is not None else None,
            household_code=str(code) if code is not None else None,
        )
