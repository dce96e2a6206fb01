import re
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header

from households.household import service as household_service
from households.household.exceptions import HouseholdNotFound
from households.household.models import Household
from kit.auth import Caller, CallerDep, Permission, requires
from kit.db import SessionDep
from kit.errors import InvalidInput

HouseholdReader = Annotated[Caller, requires(Permission.HOUSEHOLDS_READ)]
HouseholdWriter = Annotated[Caller, requires(Permission.HOUSEHOLDS_WRITE)]


async def valid_household(household_id: UUID, session: SessionDep, caller: CallerDep) -> Household:
    """The household named in the path, or 404 (also when outside the caller's unit scope)."""
    household = await household_service.get(session, household_id)
    if household is None or not caller.may_see(
        (household.province_code, household.district_code, household.commune_code)
    ):
        raise HouseholdNotFound(household_id)
    return household


async def if_match_version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """The version in an `If-Match: "N"` header (our ETags are quoted version numbers)."""
    if if_match is None:
        return None
    version = _ETAG.fullmatch(if_match.strip())
    if version is None:
        raise InvalidInput.field(["header", "if-match"], 'Expected an ETag such as "3".')
    return int(version[1])


# ASCII digits only: str.isdigit() also takes "³" or "٣", which int() then refuses or misreads.
_ETAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')


def etag(version: int) -> str:
    return f'"{version}"'


ValidHousehold = Annotated[Household, Depends(valid_household)]
IfMatch = Annotated[int | None, Depends(if_match_version)]
