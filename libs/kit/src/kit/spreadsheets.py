"""Cells of the CSV and XLSX files the platform writes, made safe to open in a spreadsheet.

Spreadsheet programs take a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return for a formula, and a formula can run commands or send the sheet's data away (CSV or formula
injection). Such a text is written with a leading apostrophe, as OWASP advises: the programs show
it as text. Numbers are written as numbers (a negative number is no formula). Every writer of a
CSV or XLSX file passes its cells through `safe_cell` or `safe_row`.
"""

from collections.abc import Iterable
from typing import TypeVar

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def safe_cell(value: T) -> T | str:
    """`value`, or a text that a spreadsheet would take for a formula with an apostrophe before."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def safe_row(values: Iterable[object]) -> list[object]:
    return [safe_cell(value) for value in values]
