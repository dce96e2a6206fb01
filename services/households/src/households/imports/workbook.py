"""An XLSX workbook's bounds, checked from the archive before a spreadsheet library opens it.

openpyxl, even in read-only mode, reads every part of a workbook whole except its worksheets (which
it streams): the shared strings table above all, one Python string for each. So, from the zip
directory, every part's size and compression ratio; the shared strings counted as they stream
past, without parsing them; and, before the job imports a row, the worksheets' rows and cells
counted the same way. Python's zipfile never inflates a part past the size its directory gives.
"""

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from households.imports.layout import LayoutError
from households.imports.limits import MIB, LimitExceeded, Limits, inflated, too_large

CONTENT_TYPES = "[Content_Types].xml"
SHARED_STRINGS_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings"
WORKSHEETS = re.compile(r"xl/worksheets/[^/]+\.xml", re.IGNORECASE)

# An element's start tag, with any namespace prefix: `<si>`, `<x:si>`, `<c r="A1" t="s">`.
_PREFIX = rb"<(?:[A-Za-z_][\w.\-]*:)?"
_SHARED_STRING = re.compile(_PREFIX + rb"si[\s/>]")
_CELL = re.compile(_PREFIX + rb"c[\s/>]")
# A row starts, or the rows end: a row's XML is from its start to the next one's (or the end).
_ROW_BOUNDARY = re.compile(_PREFIX + rb"row[\s/>]|</(?:[A-Za-z_][\w.\-]*:)?sheetData>")
_OVERRIDE = re.compile(rb"<Override\b[^>]*>")
_PART_NAME = re.compile(rb'PartName\s*=\s*"/?([^"]+)"')


def check_archive(path: Path, limits: Limits) -> None:
    """LimitExceeded if the workbook's parts or shared strings pass the limits; LayoutError if it
    is not a zip archive. Reads the directory and the shared strings, in bounded memory."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise LayoutError(f"The file is not an XLSX workbook: {error}.") from error
    with archive:
        parts = archive.infolist()
        refused = too_large(sum(part.file_size for part in parts), limits)
        if refused:
            raise refused
        for part in parts:
            refused = inflated(part.file_size, part.compress_size, limits)
            if refused:
                raise LimitExceeded(
                    f"Part {part.filename} inflates more than {limits.max_compression_ratio} times",
                    "IMPORT_MAX_COMPRESSION_RATIO",
                    limits.max_compression_ratio,
                )
            if part.file_size > limits.max_xlsx_part_bytes and not WORKSHEETS.fullmatch(
                part.filename
            ):
                raise LimitExceeded(
                    f"Part {part.filename} is read whole and is larger than allowed",
                    "IMPORT_MAX_XLSX_PART_BYTES",
                    limits.max_xlsx_part_bytes,
                )
        strings = 0
        for name in _shared_strings_parts(archive):
            with archive.open(name) as stream:
                for segment in _segments(stream, limits):
                    strings += len(_SHARED_STRING.findall(segment))
                    if strings > limits.max_shared_strings:
                        raise LimitExceeded(
                            "The workbook has more shared strings than allowed",
                            "IMPORT_MAX_SHARED_STRINGS",
                            limits.max_shared_strings,
                        )


def check_sheets(path: Path, limits: Limits) -> None:
    """LimitExceeded if the worksheets together have more rows or cells than allowed, or a row
    longer than IMPORT_MAX_LINE_BYTES of XML. Streams them without parsing."""
    rows = cells = 0
    with zipfile.ZipFile(path) as archive:
        for name in (n for n in archive.namelist() if WORKSHEETS.fullmatch(n)):
            row_start: int | None = None
            offset = 0
            with archive.open(name) as stream:
                for segment in _segments(stream, limits):
                    cells += len(_CELL.findall(segment))
                    for boundary in _ROW_BOUNDARY.finditer(segment):
                        at = offset + boundary.start()
                        if row_start is not None and at - row_start > limits.max_line_bytes:
                            raise LimitExceeded(
                                f"Row {rows} of {name} is longer than allowed",
                                "IMPORT_MAX_LINE_BYTES",
                                limits.max_line_bytes,
                            )
                        is_row = not boundary.group().startswith(b"</")
                        rows += is_row
                        row_start = at if is_row else None
                    offset += len(segment)
                    if rows > limits.max_rows:
                        raise LimitExceeded(
                            "The workbook has more rows than allowed",
                            "IMPORT_MAX_ROWS",
                            limits.max_rows,
                        )
                    if cells > limits.max_cells:
                        raise LimitExceeded(
                            "The workbook has more cells than allowed",
                            "IMPORT_MAX_CELLS",
                            limits.max_cells,
                        )
                    if row_start is not None and offset - row_start > limits.max_line_bytes:
                        raise LimitExceeded(
                            f"Row {rows} of {name} is longer than allowed",
                            "IMPORT_MAX_LINE_BYTES",
                            limits.max_line_bytes,
                        )


def _shared_strings_parts(archive: zipfile.ZipFile) -> list[str]:
    """The parts the content types name as shared strings (where openpyxl looks for them), and
    any part named so."""
    names = {name for name in archive.namelist() if name.lower().endswith("sharedstrings.xml")}
    if CONTENT_TYPES in archive.namelist():
        with archive.open(CONTENT_TYPES) as stream:
            manifest = stream.read(MIB + 1)  # a few kilobytes in any real workbook
        if len(manifest) > MIB:
            raise LayoutError(f"The workbook's {CONTENT_TYPES} is larger than a workbook's is.")
        for override in _OVERRIDE.findall(manifest):
            part = _PART_NAME.search(override)
            if part and SHARED_STRINGS_TYPE in override:
                names.add(part.group(1).decode("utf-8", "replace"))
    return sorted(name for name in names if name in archive.namelist())


def _segments(stream: IO[bytes], limits: Limits) -> Iterator[bytes]:
    """The part's bytes, chunk by chunk, each cut after its last complete tag (an incomplete one
    is carried into the next), so that no tag is split between two."""
    carry = b""
    while chunk := stream.read(MIB):
        data = carry + chunk
        start = data.rfind(b"<")
        if start == -1 or data.find(b">", start) != -1:
            carry = b""
            yield data
            continue
        carry = data[start:]
        if len(carry) > limits.max_line_bytes:
            raise LimitExceeded(
                "A tag of the workbook is longer than allowed",
                "IMPORT_MAX_LINE_BYTES",
                limits.max_line_bytes,
            )
        yield data[:start]
    if carry:
        yield carry
