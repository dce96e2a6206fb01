"""How much an upload may expand to: bounds on size, lines, rows, cells and shared strings.

A small compressed file can inflate to gigabytes, a line can be a gigabyte long, a workbook of a
few hundred kilobytes can hold millions of shared strings that a spreadsheet library keeps in
memory. What can be known from the upload is checked as it is received (`service.create`: the
size and compression ratio while it is decompressed to disk, the length of lines and their count,
a workbook's parts from the archive's directory and its shared strings); what can only be known
by reading it (a workbook's rows and cells) fails the job before its first row is imported. Every
reader reads a line, a row or a part of a bounded size, so memory stays bounded whatever the file.

The defaults (households.config) fit a province: a million households of JSON lines (about 1.7
GB), ten million member rows of CSV, a workbook as large as a spreadsheet can be (1,048,576 rows).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from households.config import Settings
from households.imports.layout import LayoutError

MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """The IMPORT_MAX_* settings (docs/configuration.md)."""

    max_bytes: int
    max_compression_ratio: int
    max_line_bytes: int
    max_rows: int
    max_cells: int
    max_shared_strings: int
    max_xlsx_part_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            max_bytes=settings.IMPORT_MAX_BYTES,
            max_compression_ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
            max_line_bytes=settings.IMPORT_MAX_LINE_BYTES,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_cells=settings.IMPORT_MAX_CELLS,
            max_shared_strings=settings.IMPORT_MAX_SHARED_STRINGS,
            max_xlsx_part_bytes=settings.IMPORT_MAX_XLSX_PART_BYTES,
        )


# A compressed file this small is accepted whatever its ratio (a template is mostly repetition).
RATIO_FLOOR = 8 * MIB


class LimitExceeded(LayoutError):
    """The file passes one of the limits; the message names its setting."""

    def __init__(self, what: str, setting: str, limit: int) -> None:
        self.what, self.setting, self.limit = what, setting, limit
        super().__init__(f"{what}: the limit is {setting} = {limit:,}.")

    def __reduce__(self) -> tuple[type["LimitExceeded"], tuple[str, str, int]]:
        return LimitExceeded, (self.what, self.setting, self.limit)  # raised in another process


def too_large(size: int, limits: Limits) -> LimitExceeded | None:
    if size > limits.max_bytes:
        return LimitExceeded(
            "The file is larger than allowed", "IMPORT_MAX_BYTES", limits.max_bytes
        )
    return None


def inflated(size: int, compressed: int, limits: Limits) -> LimitExceeded | None:
    """A refusal if `compressed` bytes inflate to `size` (past the floor) at too high a ratio."""
    if size > RATIO_FLOOR and size > limits.max_compression_ratio * max(compressed, 1):
        return LimitExceeded(
            f"The file inflates more than {limits.max_compression_ratio} times",
            "IMPORT_MAX_COMPRESSION_RATIO",
            limits.max_compression_ratio,
        )
    return None


def line_too_long(number: int, limits: Limits) -> LimitExceeded:
    return LimitExceeded(
        f"Line {number} is longer than allowed", "IMPORT_MAX_LINE_BYTES", limits.max_line_bytes
    )


def too_many_rows(limits: Limits) -> LimitExceeded:
    return LimitExceeded("The file has more rows than allowed", "IMPORT_MAX_ROWS", limits.max_rows)


def lines(binary: BinaryIO, limits: Limits) -> Iterator[bytes]:
    """The lines of a file (with their newline), none read past IMPORT_MAX_LINE_BYTES: a longer
    one raises LimitExceeded once that much of it is read, and so does a line past the count of
    IMPORT_MAX_ROWS."""
    limit = limits.max_line_bytes
    number = 0
    while line := binary.readline(limit + 1):
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            raise line_too_long(number, limits)
        if number > limits.max_rows:
            raise too_many_rows(limits)
        yield line


class TextGuard:
    """Watches a text file (JSON lines, CSV) as it is written to disk, chunk by chunk: the length
    of its lines and their count. Chunks must not be longer than IMPORT_MAX_LINE_BYTES: then a
    line wholly inside a chunk is short enough, and only lines across chunks are measured."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.lines = 0
        self.open_line = 0  # bytes of the line not ended yet

    @property
    def chunk_size(self) -> int:
        return min(MIB, self.limits.max_line_bytes)

    def feed(self, chunk: bytes) -> None:
        first = chunk.find(b"\n")
        if first == -1:
            self.open_line += len(chunk)
        else:
            if self.open_line + first > self.limits.max_line_bytes:
                raise line_too_long(self.lines + 1, self.limits)
            self.lines += chunk.count(b"\n")
            self.open_line = len(chunk) - chunk.rfind(b"\n") - 1
        if self.open_line > self.limits.max_line_bytes:
            raise line_too_long(self.lines + 1, self.limits)
        if self.lines + (self.open_line > 0) > self.limits.max_rows:
            raise too_many_rows(self.limits)
