from typing import Annotated

from fastapi import Depends, Query

from households.unit import service as unit_service
from households.unit.exceptions import UnitNotFound
from households.unit.models import AdminUnit
from kit.db import SessionDep
from kit.fields import IsoDate

OnQuery = Annotated[
    IsoDate | None,
    Query(description="The day the unit must be in force; without it, its latest version."),
]


async def valid_unit(code: str, session: SessionDep, on: OnQuery = None) -> AdminUnit:
    """The unit named in the path (in force `on` that day, if given), or 404."""
    unit = await unit_service.get(session, code, on=on)
    if unit is None:
        raise UnitNotFound(code, on=on)
    return unit


ValidUnit = Annotated[AdminUnit, Depends(valid_unit)]


async def ended_unit(code: str, session: SessionDep, on: OnQuery = None) -> AdminUnit:
    """The unit named in the path as in force `on` that day or, without it, its most recent
    version that has ended (the one with successors), else its latest; or 404."""
    if on is None:
        unit = await unit_service.last_ended(session, code) or await unit_service.get(session, code)
    else:
        unit = await unit_service.get(session, code, on=on)
    if unit is None:
        raise UnitNotFound(code, on=on)
    return unit


EndedUnit = Annotated[AdminUnit, Depends(ended_unit)]
