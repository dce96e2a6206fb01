"""Both unit trees and the crosswalk, as loaded from `vietnamadminunits`: counted against the
package's own dataset and against the published figures (DOMAIN §7)."""

import json
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import Base, outbox
from households.unit import service as unit_service
from households.unit.exceptions import UnknownDivisionType
from households.unit.models import (
    AdminUnit,
    DivisionType,
    SuccessionRelation,
    UnitLevel,
    UnitSuccession,
)
from households.unit.seed import (
    NEW_FROM,
    OLD_TO,
    data_dir,
    division_type,
    seed_units,
    source,
)
from kit.contracts import Envelope
from kit.contracts.households import Area, UnitSuccessionsRecordedV1
from kit.db import make_engine, make_sessionmaker

VINH_PHUC_DISTRICTS = ["243", "244", "246", "247", "248", "249", "251", "252", "253"]
EVE, REFORM, TODAY = date(2025, 6, 30), date(2025, 7, 1), date(2026, 1, 15)


def package_count(sql: str) -> int:
    """A count straight from the package's dataset, to check the load against."""
    with sqlite3.connect(data_dir() / "dataset.db") as connection:
        count: int = connection.execute(sql).fetchone()[0]
    return count


async def count_units(session: AsyncSession, *conditions: ColumnElement[bool] | bool) -> int:
    statement = select(func.count()).select_from(AdminUnit).where(*conditions)
    return (await session.exec(statement)).one()


def in_force(on: date) -> ColumnElement[bool]:
    return and_(
        col(AdminUnit.valid_from) <= on,
        or_(col(AdminUnit.valid_to).is_(None), col(AdminUnit.valid_to) >= on),
    )


@pytest.fixture
async def empty_session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with make_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


async def lineage(session: AsyncSession, code: str, on: date) -> list[tuple[str, str]]:
    unit = await unit_service.get(session, code, on=on)
    assert unit is not None
    return [
        (other.code, edge.relation) for edge, other in await unit_service.successors(session, unit)
    ]


class TestSeedUnits:
    async def test_loads_both_trees_whole(self, empty_session: AsyncSession) -> None:
        inserted = await seed_units(empty_session)

        assert inserted == (63 + 696 + 10_035) + (34 + 3_321)
        assert await count_units(empty_session) == inserted

    @pytest.mark.parametrize(
        ("on", "level", "expected", "package_sql"),
        [
            (
                EVE,
                UnitLevel.province,
                63,
                "SELECT COUNT(DISTINCT provinceCode) FROM admin_units_legacy",
            ),
            (
                EVE,
                UnitLevel.district,
                696,
                "SELECT COUNT(DISTINCT districtCode) FROM admin_units_legacy",
            ),
            (EVE, UnitLevel.commune, 10_035, "SELECT COUNT(wardCode) FROM admin_units_legacy"),
            (
                REFORM,
                UnitLevel.province,
                34,
                "SELECT COUNT(DISTINCT provinceCode) FROM admin_units",
            ),
            (REFORM, UnitLevel.district, 0, "SELECT 0"),
            (REFORM, UnitLevel.commune, 3_321, "SELECT COUNT(wardCode) FROM admin_units"),
            (TODAY, UnitLevel.commune, 3_321, "SELECT COUNT(wardCode) FROM admin_units"),
        ],
    )
    async def test_counts_per_tree_and_day_are_the_packages(
        self, session: AsyncSession, on: date, level: UnitLevel, expected: int, package_sql: str
    ) -> None:
        loaded = await count_units(session, in_force(on), AdminUnit.level == level)

        assert loaded == package_count(package_sql) == expected

    async def test_the_new_communes_are_xã_phường_and_đặc_khu(self, session: AsyncSession) -> None:
        statement = (
            select(AdminUnit.division_type, func.count())
            .where(in_force(TODAY), AdminUnit.level == UnitLevel.commune)
            .group_by(col(AdminUnit.division_type))
        )
        kinds = dict((await session.exec(statement)).all())

        assert kinds == {
            DivisionType.commune: package_count(
                "SELECT COUNT(*) FROM admin_units WHERE wardType = 'Xã'"
            ),
            DivisionType.ward: package_count(
                "SELECT COUNT(*) FROM admin_units WHERE wardType = 'Phường'"
            ),
            DivisionType.special_zone: package_count(
                "SELECT COUNT(*) FROM admin_units WHERE wardType = 'Đặc khu'"
            ),
        }
        assert kinds[DivisionType.special_zone] == 13

    async def test_a_second_run_inserts_nothing(self, session: AsyncSession) -> None:
        before = await count_units(session)

        assert await seed_units(session) == 0
        assert await count_units(session) == before

    async def test_units_from_another_source_are_replaced(
        self, empty_session: AsyncSession
    ) -> None:
        # As a deployment seeded from vietnam-provinces 0.6.0 has them: same codes and validity.
        empty_session.add(
            AdminUnit(
                code="26",
                name="Tỉnh Vĩnh Phúc",
                search_name="tinh vinh phuc",
                level=UnitLevel.province,
                division_type=DivisionType.province,
                province_code="26",
                valid_from=date(2008, 8, 1),
                valid_to=OLD_TO,
                source="vietnam-provinces 0.6.0 (2025-01-04)",
            )
        )
        await empty_session.flush()

        inserted = await seed_units(empty_session)

        assert await count_units(empty_session) == inserted
        assert await count_units(empty_session, AdminUnit.source != source()) == 0

    async def test_vinh_phuc_has_its_nine_districts_and_121_communes(
        self, session: AsyncSession
    ) -> None:
        districts = await unit_service.children(session, "26")

        assert [district.code for district in districts] == VINH_PHUC_DISTRICTS
        assert (
            await count_units(
                session, AdminUnit.province_code == "26", AdminUnit.level == UnitLevel.commune
            )
            == 121
        )

    async def test_codes_are_zero_padded_per_level(self, session: AsyncSession) -> None:
        hanoi = await unit_service.get(session, "01", on=EVE)
        ba_dinh = await unit_service.get(session, "001", on=EVE)
        phuc_xa = await unit_service.get(session, "00001", on=EVE)

        assert hanoi is not None
        assert hanoi.name == "Thành phố Hà Nội"
        assert hanoi.division_type == DivisionType.city
        assert ba_dinh is not None
        assert ba_dinh.division_type == DivisionType.urban_district
        assert phuc_xa is not None
        assert phuc_xa.name == "Phường Phúc Xá"
        assert (phuc_xa.province_code, phuc_xa.district_code, phuc_xa.parent_code) == (
            "01",
            "001",
            "001",
        )

    @pytest.mark.parametrize(
        ("code", "on", "name", "kind", "area"),
        [
            ("08707", EVE, "Phường Tích Sơn", DivisionType.ward, Area.urban),
            ("08761", EVE, "Thị trấn Lập Thạch", DivisionType.township, Area.urban),
            ("08731", EVE, "Xã Thanh Trù", DivisionType.commune, Area.rural),
            ("08707", TODAY, "Phường Vĩnh Yên", DivisionType.ward, Area.urban),
            # The town became a rural commune in the reform (DOMAIN §3).
            ("08761", TODAY, "Xã Lập Thạch", DivisionType.commune, Area.rural),
            ("31078", TODAY, "Đặc khu Phú Quốc", DivisionType.special_zone, Area.rural),
        ],
    )
    async def test_a_commune_kind_and_area_come_from_its_name(
        self,
        session: AsyncSession,
        code: str,
        on: date,
        name: str,
        kind: DivisionType,
        area: Area,
    ) -> None:
        commune = await unit_service.get_commune(session, code, on=on)

        assert commune is not None
        assert (commune.name, commune.division_type, commune.area) == (name, kind, area)

    async def test_the_special_zone_area_is_the_settings(self, empty_session: AsyncSession) -> None:
        special_zones = AdminUnit.division_type == DivisionType.special_zone

        await seed_units(empty_session, special_zone_area=Area.urban)
        urban = await count_units(empty_session, special_zones, AdminUnit.area == Area.urban)
        await seed_units(empty_session, special_zone_area=Area.rural)  # a later migrate
        rural = await count_units(empty_session, special_zones, AdminUnit.area == Area.rural)

        assert (urban, rural) == (13, 13)

    async def test_a_new_commune_sits_under_its_province_without_district(
        self, session: AsyncSession
    ) -> None:
        commune = await unit_service.get(session, "08707", on=TODAY)
        assert commune is not None

        assert (commune.parent_code, commune.province_code, commune.district_code) == (
            "25",
            "25",
            None,
        )

    async def test_only_communes_have_an_area(self, session: AsyncSession) -> None:
        assert await count_units(session, col(AdminUnit.area).is_(None)) == 63 + 696 + 34

    async def test_the_old_tree_ends_on_the_eve_of_the_reform_and_the_new_begins(
        self, session: AsyncSession
    ) -> None:
        old = await count_units(session, AdminUnit.valid_to == OLD_TO)
        new = await count_units(
            session, AdminUnit.valid_from == NEW_FROM, col(AdminUnit.valid_to).is_(None)
        )

        assert (old, new) == (63 + 696 + 10_035, 34 + 3_321)
        assert await count_units(session, AdminUnit.source == source()) == old + new
        assert NEW_FROM == date(2025, 7, 1)


class TestCrosswalk:
    async def test_vinh_phucs_121_communes_merged_whole_into_36(
        self, session: AsyncSession
    ) -> None:
        communes = await unit_service.search(
            session, parent_code=None, level=UnitLevel.commune, on=EVE, limit=20_000
        )
        vinh_phuc = [unit for unit in communes[0] if unit.province_code == "26"]
        edges = [
            (edge, successor)
            for unit in vinh_phuc
            for edge, successor in await unit_service.successors(session, unit)
        ]

        assert len(vinh_phuc) == 121
        assert len(edges) == 121  # one successor each
        assert {edge.relation for edge, _ in edges} == {SuccessionRelation.whole}
        assert {edge.effective for edge, _ in edges} == {REFORM}
        assert len({successor.code for _, successor in edges}) == 36
        assert {successor.province_code for _, successor in edges} == {"25"}

    async def test_a_split_commune_is_partial_to_each_successor(
        self, session: AsyncSession
    ) -> None:
        # Xã Hồng Hà, Đan Phượng (Hà Nội): the package divides it among four new communes.
        assert await lineage(session, "09796", EVE) == [
            ("08980", SuccessionRelation.partial),
            ("09022", SuccessionRelation.partial),
            ("09787", SuccessionRelation.partial),
            ("09817", SuccessionRelation.partial),
        ]

    async def test_the_split_matches_the_packages_mapping(self, session: AsyncSession) -> None:
        mapping = json.loads((data_dir() / "converter_2025.json").read_text(encoding="utf-8"))
        divided = mapping["DICT_PROVINCE_WARD_DIVIDED"]["thanhphohanoi"]
        parts = divided["thanhphohanoi_huyendanphuong_xahongha"]

        assert len(await lineage(session, "09796", EVE)) == len(parts) == 4

    @pytest.mark.parametrize(
        ("code", "expected"),
        [
            ("26", [("25", SuccessionRelation.whole)]),  # Vĩnh Phúc into Phú Thọ
            ("17", [("25", SuccessionRelation.whole)]),  # Hòa Bình into Phú Thọ
            ("01", [("01", SuccessionRelation.unchanged)]),  # Hà Nội
        ],
    )
    async def test_provinces_have_successors_too(
        self, session: AsyncSession, code: str, expected: list[tuple[str, str]]
    ) -> None:
        assert await lineage(session, code, EVE) == expected

    async def test_every_old_commune_has_a_successor_and_every_new_one_a_predecessor(
        self, session: AsyncSession
    ) -> None:
        predecessors = select(func.count(func.distinct(UnitSuccession.predecessor_code))).where(
            UnitSuccession.predecessor_valid_from < NEW_FROM
        )
        successors = select(func.count(func.distinct(UnitSuccession.successor_code)))

        # Communes, provinces, and the five island districts that had no communes.
        assert (await session.exec(predecessors)).one() == 10_035 + 63 + 5
        assert (await session.exec(successors)).one() == 3_321 + 34

    async def test_relations_of_the_whole_crosswalk(self, session: AsyncSession) -> None:
        relations = Counter((await session.exec(select(UnitSuccession.relation))).all())

        assert set(relations) == set(SuccessionRelation)
        assert relations[SuccessionRelation.whole] > relations[SuccessionRelation.partial]


async def staged_crosswalk(session: AsyncSession) -> list[Envelope]:
    statement = select(outbox.c.envelope).where(outbox.c.type == UnitSuccessionsRecordedV1.TYPE)
    rows = await session.exec(statement.order_by(outbox.c.position))
    return [Envelope.model_validate(row) for row in rows]


class TestCrosswalkEvents:
    async def test_every_edge_is_published_once_under_its_old_province(
        self, empty_session: AsyncSession
    ) -> None:
        await seed_units(empty_session)

        envelopes = await staged_crosswalk(empty_session)
        events = [UnitSuccessionsRecordedV1.model_validate(e.data) for e in envelopes]
        published = Counter(
            (edge.predecessor_code, edge.predecessor_valid_from, edge.successor_code)
            for event in events
            for edge in event.successions
        )
        stored = Counter(
            (row.predecessor_code, row.predecessor_valid_from, row.successor_code)
            for row in await empty_session.exec(select(UnitSuccession))
        )
        provinces = [event.predecessor_province_code for event in events]

        assert published == stored
        assert set(published.values()) == {1}
        assert len(provinces) == len(set(provinces)) == 63
        assert [(e.subject, e.sequence) for e in envelopes] == [
            (f"successions:{source()}:{province}", 1) for province in provinces
        ]
        assert {event.effective for event in events} == {NEW_FROM}
        assert {event.source for event in events} == {source()}

    async def test_a_successor_carries_its_place_in_the_new_tree(
        self, empty_session: AsyncSession
    ) -> None:
        await seed_units(empty_session)

        events = [
            UnitSuccessionsRecordedV1.model_validate(e.data)
            for e in await staged_crosswalk(empty_session)
        ]
        [vinh_phuc] = [event for event in events if event.predecessor_province_code == "26"]
        edges = {edge.predecessor_code: edge for edge in vinh_phuc.successions}
        [hanoi] = [event for event in events if event.predecessor_province_code == "01"]
        split = [edge for edge in hanoi.successions if edge.predecessor_code == "09796"]

        assert len(vinh_phuc.successions) == 121 + 1  # its communes, and the province itself
        # Phường Tích Sơn went whole into Phường Vĩnh Yên of Phú Thọ.
        assert edges["08707"].successor_unit_path == ["25", "08707"]
        assert (edges["08707"].successor_level, edges["08707"].successor_area) == (
            "commune",
            Area.urban,
        )
        assert edges["08707"].relation == SuccessionRelation.whole
        assert edges["26"].successor_unit_path == ["25"]
        assert (edges["26"].successor_level, edges["26"].successor_area) == ("province", None)
        assert sorted((edge.successor_code, edge.relation) for edge in split) == [
            ("08980", SuccessionRelation.partial),
            ("09022", SuccessionRelation.partial),
            ("09787", SuccessionRelation.partial),
            ("09817", SuccessionRelation.partial),
        ]

    async def test_a_second_migrate_stages_nothing(self, empty_session: AsyncSession) -> None:
        await seed_units(empty_session)
        first = len(await staged_crosswalk(empty_session))

        assert await seed_units(empty_session) == 0
        assert len(await staged_crosswalk(empty_session)) == first == 63


class TestDivisionType:
    @pytest.mark.parametrize(
        ("name", "level", "kind"),
        [
            ("Tỉnh Vĩnh Phúc", UnitLevel.province, DivisionType.province),
            ("Thành phố Hà Nội", UnitLevel.province, DivisionType.city),
            ("Quận Ba Đình", UnitLevel.district, DivisionType.urban_district),
            ("Huyện Sông Lô", UnitLevel.district, DivisionType.rural_district),
            ("Thị xã Sơn Tây", UnitLevel.district, DivisionType.town),
            ("Thành Phố Đồng Hới", UnitLevel.district, DivisionType.city),
            ("Phường Tích Sơn", UnitLevel.commune, DivisionType.ward),
            ("Thị trấn Hoa Sơn", UnitLevel.commune, DivisionType.township),
            ("Xã Thanh Trù", UnitLevel.commune, DivisionType.commune),
            ("Đặc khu Phú Quốc", UnitLevel.commune, DivisionType.special_zone),
        ],
    )
    def test_reads_the_kind_from_the_name(
        self, name: str, level: UnitLevel, kind: DivisionType
    ) -> None:
        assert division_type(name, level) == kind

    @pytest.mark.parametrize(
        ("name", "level"),
        [
            ("Đặc khu Phú Quốc", UnitLevel.district),
            ("Quận Ba Đình", UnitLevel.commune),
            ("Xãhội", UnitLevel.commune),
        ],
    )
    def test_an_unknown_prefix_is_refused(self, name: str, level: UnitLevel) -> None:
        with pytest.raises(UnknownDivisionType, match=name):
            division_type(name, level)
