"""The communes of a province, read from the households database, for the generator."""

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from households.unit import service as unit_service
from households.unit.models import UnitLevel
from kit.contracts.households import Area
from synthetic.generator import REFERENCE_DATE, Commune


async def province_communes(
    session: AsyncSession, province: str, *, on: date = REFERENCE_DATE
) -> list[Commune]:
    """The communes under `province` in force `on` that day, by code, each urban or rural by its
    type; empty when the province does not exist then. Works for the three-level tree (districts
    in between) and the two-level one."""
    communes: list[Commune] = []
    parents = [province]
    while parents:
        units = await unit_service.children(session, parents.pop(), on=on)
        for unit in units:
            if unit.level == UnitLevel.commune:
                communes.append(Commune(unit.code, unit.area == Area.urban))
            else:
                parents.append(unit.code)
    return sorted(communes)
