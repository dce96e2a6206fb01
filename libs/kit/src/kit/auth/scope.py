"""Unit scope in SQL: a caller sees the rows of the units its scope covers, and no others.

Tables that hold people or their surveys carry the province, district and commune codes of each
row, so a unit of any level (2-digit province, 3-digit district, 5-digit commune) is one
equality on one column.
"""

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col

from kit.auth.roles import Caller

# The province, district and commune code columns of a table.
UnitColumns = tuple[Any, Any, Any]


def in_unit(code: str, columns: UnitColumns) -> ColumnElement[bool]:
    """Rows in the unit `code`, whatever its level."""
    province, district, commune = columns
    column = {2: province, 3: district, 5: commune}.get(len(code))
    return col(column) == code if column is not None else false()


def in_scope(caller: Caller, columns: UnitColumns) -> ColumnElement[bool]:
    """Rows the caller may see."""
    if caller.unit_scope is None:
        return true()
    return or_(false(), *(in_unit(code, columns) for code in caller.unit_scope))
