from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import Base
from households.unit import service as unit_service
from households.unit.exceptions import UnknownDivisionType
from households.unit.models import AdminUnit, DivisionType, UnitLevel
from households.unit.seed import VALID_TO, division_type, seed_units, source
from kit.contracts.households import Area
from kit.db import make_engine, make_sessionmaker

VINH_PHUC_DISTRICTS = ["243", "244", "246", "247", "248", "249", "251", "252", "253"]


async def count_units(session: AsyncSession, *conditions: ColumnElement[bool] | bool) -> int:
    statement = select(func.count()).select_from(AdminUnit).where(*conditions)
    return (await session.exec(statement)).one()


@pytest.fixture
async def empty_session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with make_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


class TestSeedUnits:
    async def test_loads_every_province_district_and_commune(
        self, empty_session: AsyncSession
    ) -> None:
        inserted = await seed_units(empty_session)

        assert inserted == 63 + 696 + 10_051
        assert await count_units(empty_session) == inserted
        assert await count_units(empty_session, AdminUnit.level == UnitLevel.province) == 63
        assert await count_units(empty_session, AdminUnit.level == UnitLevel.commune) == 10_051

    async def test_a_second_run_inserts_nothing(self, session: AsyncSession) -> None:
        before = await count_units(session)

        assert await seed_units(session) == 0
        assert await count_units(session) == before

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
        hanoi = await unit_service.get(session, "01")
        ba_dinh = await unit_service.get(session, "001")
        phuc_xa = await unit_service.get(session, "00001")

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
        ("code", "name", "kind", "area"),
        [
            ("08707", "Phường Tích Sơn", DivisionType.ward, Area.urban),
            ("08761", "Thị trấn Lập Thạch", DivisionType.township, Area.urban),
            ("08731", "Xã Thanh Trù", DivisionType.commune, Area.rural),
        ],
    )
    async def test_a_commune_kind_and_area_come_from_its_name(
        self, session: AsyncSession, code: str, name: str, kind: DivisionType, area: Area
    ) -> None:
        commune = await unit_service.get_commune(session, code)

        assert commune is not None
        assert (commune.name, commune.division_type, commune.area) == (name, kind, area)

    async def test_only_communes_have_an_area(self, session: AsyncSession) -> None:
        assert await count_units(session, col(AdminUnit.area).is_(None)) == 63 + 696

    async def test_every_unit_is_in_force_until_the_reform_and_names_its_source(
        self, session: AsyncSession
    ) -> None:
        assert await count_units(
            session, AdminUnit.valid_to == VALID_TO, AdminUnit.source == source()
        ) == await count_units(session)
        assert VALID_TO == date(2025, 6, 30)


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
        ],
    )
    def test_reads_the_kind_from_the_name(
        self, name: str, level: UnitLevel, kind: DivisionType
    ) -> None:
        assert division_type(name, level) == kind

    @pytest.mark.parametrize(
        ("name", "level"),
        [
            ("Đặc khu Phú Quốc", UnitLevel.commune),
            ("Quận Ba Đình", UnitLevel.commune),
            ("Xãhội", UnitLevel.commune),
        ],
    )
    def test_an_unknown_prefix_is_refused(self, name: str, level: UnitLevel) -> None:
        with pytest.raises(UnknownDivisionType, match=name):
            division_type(name, level)
