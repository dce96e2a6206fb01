"""Unit scope in queries: a caller sees the rows of the units its scope covers, and no others.

Rows here carry their province, district and commune codes, so a unit of any level (2-digit
province, 3-digit district, 5-digit commune) is one equality on one column.
"""

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col

from households.unit.models import AdminUnit
from kit.auth import Caller
from kit.errors import InvalidInput

# The province, district and commune code columns of a table.
UnitColumns = tuple[object, object, object]


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


def check_commune_in_scope(caller: Caller, commune: AdminUnit, loc: list[str | int]) -> None:
    """Refuse to write into a commune outside the caller's scope (it may not even see it)."""
    if not caller.may_see((commune.province_code, commune.district_code, commune.code)):
        raise InvalidInput.field(loc, f"Commune {commune.code!r} is outside your unit scope.")
