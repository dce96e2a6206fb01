"""Load both unit trees and the 2025 crosswalk between them from `vietnamadminunits`.

The package ships an SQLite dataset with the 63-province, three-level tree as it stood on the eve
of the 2025 reform (`admin_units_legacy`) and the 34-province, two-level tree in force from
1 July 2025 (`admin_units`), and a JSON mapping from old communes to new ones (`converter_2025`),
both named by keys (province_district_ward) that the dataset resolves to statistics office codes.

The old tree is loaded as in force from 2008-08-01 (Hà Tây joined Hà Nội, the start of the
63-province map) to 2025-06-30; units renamed or merged between those dates appear in their
June-2025 form for the whole period, so a review before 2025 that names a since-merged commune
will not find it. The new tree is in force from 2025-07-01.
"""

import asyncio
import json
import sqlite3
from collections import Counter, defaultdict
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, TypedDict

import structlog
from sqlalchemy import delete, update
from sqlmodel import col, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.unit.events import successions_recorded
from households.unit.exceptions import UnknownDivisionType, UnmatchedCrosswalk
from households.unit.models import AdminUnit, DivisionType, UnitLevel, UnitSuccession
from households.unit.service import search_key
from kit.contracts.households import Area, SuccessionRelation
from kit.messaging import stage_many

log = structlog.get_logger()

PACKAGE = "vietnamadminunits"
OLD_FROM = date(2008, 8, 1)
OLD_TO = date(2025, 6, 30)
NEW_FROM = date(2025, 7, 1)

PREFIXES: dict[UnitLevel, tuple[DivisionType, ...]] = {
    UnitLevel.province: (DivisionType.province, DivisionType.city),
    UnitLevel.district: (
        DivisionType.urban_district,
        DivisionType.rural_district,
        DivisionType.town,
        DivisionType.city,
    ),
    UnitLevel.commune: (
        DivisionType.ward,
        DivisionType.township,
        DivisionType.commune,
        DivisionType.special_zone,
    ),
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


class SuccessionRow(TypedDict):
    predecessor_code: str
    predecessor_valid_from: date
    successor_code: str
    successor_valid_from: date
    relation: SuccessionRelation
    effective: date
    source: str


def source() -> str:
    """The `source` of the rows loaded here, e.g. "vietnamadminunits 1.0.4"."""
    return f"{PACKAGE} {metadata.version(PACKAGE)}"


def data_dir() -> Path:
    # Located, not imported: importing the package loads its address parsers.
    return Path(str(metadata.distribution(PACKAGE).locate_file(f"{PACKAGE}/data")))


def division_type(name: str, level: UnitLevel) -> DivisionType:
    """The kind of unit its name starts with: "Thị trấn Hoa Sơn" → thị trấn."""
    folded = name.casefold()  # spellings vary: "Thành phố", "Thành Phố", "Đặc khu"
    for kind in PREFIXES[level]:
        if folded.startswith(kind.value + " "):
            return kind
    raise UnknownDivisionType(f"{level} {name!r} starts with no known {level} prefix")


def area_of(kind: DivisionType, special_zone_area: Area) -> Area:
    """Phường and thị trấn are urban, xã rural; a đặc khu is what the deployment says."""
    if kind is DivisionType.special_zone:
        return special_zone_area
    return Area.urban if kind in URBAN else Area.rural


async def seed_units(session: AsyncSession, *, special_zone_area: Area = Area.rural) -> int:
    """Make the unit tables hold exactly the installed package's trees and crosswalk.

    Loads them when missing and replaces rows loaded from another source (an older package),
    staging the crosswalk's events (`unit.events`) in the same transaction; when already loaded,
    only applies `special_zone_area` to the đặc khu. Returns how many units were inserted (0 when
    already loaded). Never commits.
    """
    loaded_from = source()
    loaded = select(AdminUnit.id).where(AdminUnit.source == loaded_from).limit(1)
    stale = select(AdminUnit.id).where(AdminUnit.source != loaded_from).limit(1)
    if (await session.exec(loaded)).first() is not None and (
        await session.exec(stale)
    ).first() is None:
        special_zones = col(AdminUnit.division_type) == DivisionType.special_zone
        await session.exec(update(AdminUnit).where(special_zones).values(area=special_zone_area))
        return 0
    units, successions = await asyncio.to_thread(_read_rows, loaded_from, special_zone_area)
    await session.exec(delete(UnitSuccession))
    await session.exec(delete(AdminUnit))
    # One executemany per table: about 1 s of CPU for both trees and the crosswalk; multi-row
    # VALUES statements measured four times slower to compile.
    await session.exec(insert(AdminUnit), params=units)
    await session.exec(insert(UnitSuccession), params=successions)
    await stage_many(session, outbox, successions_recorded(units, successions, source=loaded_from))
    log.info("unit.seeded", source=loaded_from, units=len(units), successions=len(successions))
    return len(units)


def _read_rows(
    loaded_from: str, special_zone_area: Area
) -> tuple[list[UnitRow], list[SuccessionRow]]:
    folder = data_dir()
    with sqlite3.connect(f"file:{folder / 'dataset.db'}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        old = connection.execute("SELECT * FROM admin_units_legacy ORDER BY wardCode").fetchall()
        new = connection.execute("SELECT * FROM admin_units ORDER BY wardCode").fetchall()
    crosswalk: dict[str, Any] = json.loads(
        (folder / "converter_2025.json").read_text(encoding="utf-8")
    )
    tree = _Tree(loaded_from, special_zone_area)
    old_units = tree.old(old)
    new_units = tree.new(new)
    successions = tree.successions(old_units, new_units, crosswalk)
    return tree.rows, successions


class _Tree:
    """Rows of both trees, and the units' dataset keys for matching the crosswalk."""

    def __init__(self, loaded_from: str, special_zone_area: Area) -> None:
        self.loaded_from = loaded_from
        self.special_zone_area = special_zone_area
        self.rows: list[UnitRow] = []

    def old(self, records: list[sqlite3.Row]) -> dict[str, UnitRow]:
        """The three-level tree; by key: "province", "province_district", and
        "province_district_ward" (or "province_district_" for a district without communes)."""
        by_key: dict[str, UnitRow] = {}
        for record in records:
            province_key = record["provinceKey"]
            district_key = f"{province_key}_{record['districtKey']}"
            if province_key not in by_key:
                by_key[province_key] = self._add(
                    record["provinceCode"], record["province"], UnitLevel.province, None, OLD_TO
                )
            if district_key not in by_key:
                by_key[district_key] = self._add(
                    record["districtCode"],
                    record["district"],
                    UnitLevel.district,
                    by_key[province_key],
                    OLD_TO,
                )
            if record["wardCode"] is None:  # an island district: no communes below it
                by_key[f"{district_key}_"] = by_key[district_key]
                continue
            by_key[f"{district_key}_{record['wardKey']}"] = self._add(
                record["wardCode"], record["ward"], UnitLevel.commune, by_key[district_key], OLD_TO
            )
        return by_key

    def new(self, records: list[sqlite3.Row]) -> dict[str, UnitRow]:
        """The two-level tree; by key: "province" and "province_ward"."""
        by_key: dict[str, UnitRow] = {}
        for record in records:
            province_key = record["provinceKey"]
            if province_key not in by_key:
                by_key[province_key] = self._add(
                    record["provinceCode"], record["province"], UnitLevel.province, None, None
                )
            by_key[f"{province_key}_{record['wardKey']}"] = self._add(
                record["wardCode"], record["ward"], UnitLevel.commune, by_key[province_key], None
            )
        return by_key

    def successions(
        self, old: dict[str, UnitRow], new: dict[str, UnitRow], crosswalk: dict[str, Any]
    ) -> list[SuccessionRow]:
        """Old province → new province and old commune (or island district) → new commune."""
        edges: dict[str, list[str]] = defaultdict(list)  # old key → new keys
        for new_province, old_provinces in crosswalk["DICT_PROVINCE"].items():
            for old_province in old_provinces:
                edges[old_province].append(new_province)
        for new_province, wards in crosswalk["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
            for new_ward, old_wards in wards.items():
                for old_ward in old_wards:
                    edges[old_ward].append(f"{new_province}_{new_ward}")
        for new_province, old_wards in crosswalk["DICT_PROVINCE_WARD_DIVIDED"].items():
            for old_ward, parts in old_wards.items():
                edges[old_ward].extend(f"{new_province}_{part['newWardKey']}" for part in parts)
        unmatched = sorted(
            {key for key in edges if key not in old}
            | {key for keys in edges.values() for key in keys if key not in new}
        )
        if unmatched:
            raise UnmatchedCrosswalk(f"crosswalk keys not in the dataset: {unmatched[:5]}")

        predecessors = Counter(key for keys in edges.values() for key in set(keys))
        rows: list[SuccessionRow] = []
        for old_key, new_keys in sorted(edges.items()):
            before = old[old_key]
            for new_key in sorted(set(new_keys)):
                after = new[new_key]
                rows.append(
                    SuccessionRow(
                        predecessor_code=before["code"],
                        predecessor_valid_from=before["valid_from"],
                        successor_code=after["code"],
                        successor_valid_from=after["valid_from"],
                        relation=_relation(
                            before, after, len(set(new_keys)), predecessors[new_key]
                        ),
                        effective=after["valid_from"],
                        source=self.loaded_from,
                    )
                )
        return rows

    def _add(
        self,
        code: str,
        name: str,
        level: UnitLevel,
        parent: UnitRow | None,
        valid_to: date | None,
    ) -> UnitRow:
        code = code.zfill(CODE_WIDTH[level])
        kind = division_type(name, level)
        district_code = parent["district_code"] if parent else None
        if level is UnitLevel.district:
            district_code = code
        row = UnitRow(
            code=code,
            name=name,
            search_name=search_key(name),
            level=level,
            division_type=kind,
            area=area_of(kind, self.special_zone_area) if level is UnitLevel.commune else None,
            parent_code=parent["code"] if parent else None,
            province_code=parent["province_code"] if parent else code,
            district_code=district_code,
            valid_from=OLD_FROM if valid_to is not None else NEW_FROM,
            valid_to=valid_to,
            source=self.loaded_from,
        )
        self.rows.append(row)
        return row


def _relation(
    before: UnitRow, after: UnitRow, successors: int, predecessors: int
) -> SuccessionRelation:
    if successors > 1:
        return SuccessionRelation.partial
    if predecessors > 1:
        return SuccessionRelation.whole
    if before["name"] == after["name"]:
        return SuccessionRelation.unchanged
    return SuccessionRelation.renamed
