"""Load the pre-July-2025 unit tree (63 provinces, three levels) from `vietnam-provinces` 0.6.x.

The package's 0.6.x data is a snapshot dated 2025-01-04. It is loaded as in force from 2008-08-01
(Hà Tây joined Hà Nội, the start of the 63-province map) to 2025-06-30 (the day before the
two-level reform). Units renamed or merged between those dates therefore appear in their early-2025
form for the whole period; reviews before 2025 that name a since-merged commune will not find it.
"""

import asyncio
import json
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

import structlog
import vietnam_provinces
from sqlmodel import insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.unit.exceptions import UnknownDivisionType
from households.unit.models import AdminUnit, DivisionType, UnitLevel
from households.unit.service import search_key
from kit.contracts.households import Area

log = structlog.get_logger()

PACKAGE = "vietnam-provinces"
DATA_DATE = "2025-01-04"  # the snapshot date of the package's 0.6.x data
VALID_FROM = date(2008, 8, 1)
VALID_TO = date(2025, 6, 30)

PREFIXES: dict[UnitLevel, tuple[DivisionType, ...]] = {
    UnitLevel.province: (DivisionType.province, DivisionType.city),
    UnitLevel.district: (
        DivisionType.urban_district,
        DivisionType.rural_district,
        DivisionType.town,
        DivisionType.city,
    ),
    UnitLevel.commune: (DivisionType.ward, DivisionType.township, DivisionType.commune),
}
URBAN = {DivisionType.ward, DivisionType.township}
CODE_WIDTH = {UnitLevel.province: 2, UnitLevel.district: 3, UnitLevel.commune: 5}


class UnitRow(TypedDict):
    code: str
    name: str
    search_name: str
    level: UnitLevel
    division_type: DivisionType
    area: Area | None
    parent_code: str | None
    province_code: str
    district_code: str | None
    valid_from: date
    valid_to: date | None
    source: str


def source() -> str:
    """The `source` of the rows loaded here, e.g. "vietnam-provinces 0.6.0 (2025-01-04)"."""
    version = metadata.version(PACKAGE)
    if not version.startswith("0.6."):
        # 2025.x ships the 34-province two-level tree, which is not what this loader describes.
        raise RuntimeError(f"{PACKAGE} {version} is installed; the pre-2025 loader needs 0.6.x")
    return f"{PACKAGE} {version} ({DATA_DATE})"


def division_type(name: str, level: UnitLevel) -> DivisionType:
    """The kind of unit its name starts with: "Thị trấn Hoa Sơn" → thị trấn."""
    folded = name.casefold()  # the data spells "Thành phố" and, twice, "Thành Phố"
    for kind in PREFIXES[level]:
        if folded.startswith(kind.value + " "):
            return kind
    raise UnknownDivisionType(f"{level} {name!r} starts with no known {level} prefix")


async def seed_units(session: AsyncSession) -> int:
    """Insert the whole country's pre-2025 tree unless this source is already loaded.

    Returns how many units were inserted (0 when already loaded). Never commits.
    """
    loaded_from = source()
    already = select(AdminUnit.id).where(AdminUnit.source == loaded_from).limit(1)
    if (await session.exec(already)).first() is not None:
        return 0
    rows = await asyncio.to_thread(_read_rows, loaded_from)
    await session.exec(insert(AdminUnit), params=rows)
    log.info("unit.seeded", source=loaded_from, units=len(rows))
    return len(rows)


def _read_rows(loaded_from: str) -> list[UnitRow]:
    provinces: list[dict[str, Any]] = json.loads(
        Path(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH).read_text(encoding="utf-8")
    )
    rows: list[UnitRow] = []
    for province in provinces:
        province_row = _row(province, UnitLevel.province, None, loaded_from)
        rows.append(province_row)
        for district in province["districts"]:
            district_row = _row(district, UnitLevel.district, province_row, loaded_from)
            rows.append(district_row)
            rows.extend(
                _row(commune, UnitLevel.commune, district_row, loaded_from)
                for commune in district["wards"]
            )
    return rows


def _row(
    item: dict[str, Any], level: UnitLevel, parent: UnitRow | None, loaded_from: str
) -> UnitRow:
    code = str(item["code"]).zfill(CODE_WIDTH[level])
    name = str(item["name"])
    kind = division_type(name, level)
    area = None
    if level is UnitLevel.commune:
        area = Area.urban if kind in URBAN else Area.rural
    district_code = parent["district_code"] if parent else None
    if level is UnitLevel.district:
        district_code = code
    return UnitRow(
        code=code,
        name=name,
        search_name=search_key(name),
        level=level,
        division_type=kind,
        area=area,
        parent_code=parent["code"] if parent else None,
        province_code=parent["province_code"] if parent else code,
        district_code=district_code,
        valid_from=VALID_FROM,
        valid_to=VALID_TO,
        source=loaded_from,
    )
