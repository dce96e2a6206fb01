"""Writing within the unit scope: a caller cannot put a household or figure into a commune it
may not see (reading is limited by `kit.auth.scope` in each query)."""

from households.unit.models import AdminUnit
from kit.auth import Caller
from kit.errors import InvalidInput


def check_commune_in_scope(caller: Caller, commune: AdminUnit, loc: list[str | int]) -> None:
    if not caller.may_see((commune.province_code, commune.district_code, commune.code)):
        raise InvalidInput.field(loc, f"Commune {commune.code!r} is outside your unit scope.")
