from datetime import date

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from households.unit import service as unit_service
from households.unit.models import DivisionType, UnitLevel
from households.unit.service import search_key

BEFORE_REFORM = date(2024, 6, 1)
AFTER_REFORM = date(2025, 7, 1)


class TestGet:
    async def test_finds_a_unit_by_code(self, session: AsyncSession) -> None:
        unit = await unit_service.get(session, "26")

        assert unit is not None
        assert (unit.name, unit.level, unit.division_type) == (
            "Tỉnh Vĩnh Phúc",
            UnitLevel.province,
            DivisionType.province,
        )

    async def test_an_unknown_code_is_none(self, session: AsyncSession) -> None:
        assert await unit_service.get(session, "99999") is None

    async def test_a_day_in_force_finds_it(self, session: AsyncSession) -> None:
        unit = await unit_service.get(session, "26", on=BEFORE_REFORM)

        assert unit is not None
        assert unit.code == "26"

    async def test_the_last_day_before_the_reform_is_still_in_force(
        self, session: AsyncSession
    ) -> None:
        assert await unit_service.get(session, "26", on=date(2025, 6, 30)) is not None

    async def test_a_day_after_the_reform_finds_nothing(self, session: AsyncSession) -> None:
        assert await unit_service.get(session, "26", on=AFTER_REFORM) is None

    async def test_a_reused_code_answers_the_version_in_force_on_the_day(
        self, session: AsyncSession
    ) -> None:
        old = await unit_service.get(session, "08707", on=BEFORE_REFORM)
        new = await unit_service.get(session, "08707", on=AFTER_REFORM)
        latest = await unit_service.get(session, "08707")

        assert old is not None
        assert (old.name, old.valid_to) == ("Phường Tích Sơn", date(2025, 6, 30))
        assert new is not None
        assert (new.name, new.valid_from) == ("Phường Vĩnh Yên", AFTER_REFORM)
        assert latest is not None
        assert latest.id == new.id


class TestGetCommune:
    async def test_finds_a_commune(self, session: AsyncSession) -> None:
        commune = await unit_service.get_commune(session, "08707", on=BEFORE_REFORM)

        assert commune is not None
        assert commune.name == "Phường Tích Sơn"

    async def test_a_district_code_is_not_a_commune(self, session: AsyncSession) -> None:
        assert await unit_service.get_commune(session, "243") is None


class TestChildren:
    async def test_lists_a_districts_communes_by_code(self, session: AsyncSession) -> None:
        communes = await unit_service.children(session, "243")

        assert [commune.code for commune in communes] == [
            "08707",
            "08710",
            "08713",
            "08716",
            "08719",
            "08722",
            "08725",
            "08728",
            "08731",
        ]
        assert {commune.parent_code for commune in communes} == {"243"}

    async def test_a_commune_has_none(self, session: AsyncSession) -> None:
        assert await unit_service.children(session, "08707") == []

    async def test_after_the_reform_there_are_none(self, session: AsyncSession) -> None:
        assert await unit_service.children(session, "243", on=AFTER_REFORM) == []


class TestPath:
    async def test_runs_from_the_province_down_to_the_commune(self, session: AsyncSession) -> None:
        commune = await unit_service.get(session, "08761", on=BEFORE_REFORM)
        assert commune is not None

        path = await unit_service.path(session, commune)

        assert [(unit.code, unit.name) for unit in path] == [
            ("26", "Tỉnh Vĩnh Phúc"),
            ("246", "Huyện Lập Thạch"),
            ("08761", "Thị trấn Lập Thạch"),
        ]

    async def test_a_province_is_its_own_path(self, session: AsyncSession) -> None:
        province = await unit_service.get(session, "26")
        assert province is not None

        assert await unit_service.path(session, province) == [province]

    async def test_a_post_reform_commune_sits_directly_under_its_province(
        self, session: AsyncSession
    ) -> None:
        commune = await unit_service.get(session, "08761", on=AFTER_REFORM)
        assert commune is not None

        path = await unit_service.path(session, commune)

        assert [(unit.code, unit.name, unit.valid_from) for unit in path] == [
            ("25", "Tỉnh Phú Thọ", AFTER_REFORM),
            ("08761", "Xã Lập Thạch", AFTER_REFORM),
        ]


class TestSearch:
    @pytest.mark.parametrize("q", ["vinh yen", "VĨNH YÊN", "Vinh  Yen", "Vĩnh Yên"])
    async def test_ignores_case_and_diacritics(self, session: AsyncSession, q: str) -> None:
        items, _ = await unit_service.search(session, q=q, level=UnitLevel.district)

        assert [(item.code, item.name) for item in items] == [("243", "Thành phố Vĩnh Yên")]

    async def test_d_finds_đ(self, session: AsyncSession) -> None:
        items, total = await unit_service.search(session, q="dong", parent_code="243")

        assert [item.name for item in items] == ["Phường Đống Đa", "Phường Đồng Tâm"]
        assert total == 2

    async def test_old_and_new_tone_marks_match_alike(self, session: AsyncSession) -> None:
        items, _ = await unit_service.search(session, q="xuân hoà", parent_code="244")

        assert [item.name for item in items] == ["Phường Xuân Hòa"]

    async def test_filters_by_level_and_parent(self, session: AsyncSession) -> None:
        items, total = await unit_service.search(
            session, level=UnitLevel.district, parent_code="26"
        )

        assert total == 9
        assert [item.code for item in items] == sorted(item.code for item in items)

    async def test_pages_in_code_order_and_counts_every_match(self, session: AsyncSession) -> None:
        first, total = await unit_service.search(session, parent_code="246", limit=5)
        second, _ = await unit_service.search(session, parent_code="246", offset=5, limit=5)

        assert total == 19
        codes = [item.code for item in first + second]
        assert codes == sorted(codes)
        assert len(set(codes)) == 10

    async def test_after_the_reform_only_the_new_tree_is_in_force(
        self, session: AsyncSession
    ) -> None:
        items, total = await unit_service.search(session, q="VINH YEN", on=date(2025, 11, 1))

        assert [(item.code, item.name, item.level) for item in items] == [
            ("08707", "Phường Vĩnh Yên", UnitLevel.commune)
        ]
        assert total == 1

    @pytest.mark.parametrize("q", ["dac khu phu quoc", "ĐẶC KHU PHÚ QUỐC", "Dac Khu  Phu Quoc"])
    async def test_new_names_ignore_case_and_diacritics(
        self, session: AsyncSession, q: str
    ) -> None:
        items, _ = await unit_service.search(session, q=q, on=date(2026, 1, 15))

        assert [(item.code, item.name) for item in items] == [("31078", "Đặc khu Phú Quốc")]

    async def test_like_wildcards_are_plain_text(self, session: AsyncSession) -> None:
        _, total = await unit_service.search(session, q="%")

        assert total == 0


class TestSearchKey:
    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("Thành phố Vĩnh Yên", "thanh pho vinh yen"),
            ("Đồng Hới", "dong hoi"),
            ("  Xã   Đắk  Hà ", "xa dak ha"),
            ("Hoà", "hoa"),
        ],
    )
    def test_lowers_and_strips_diacritics(self, text: str, key: str) -> None:
        assert search_key(text) == key


class TestChildrenAfterTheReform:
    async def test_a_new_province_lists_its_communes(self, session: AsyncSession) -> None:
        communes = await unit_service.children(session, "25", on=date(2025, 11, 1))

        assert len(communes) == 148  # Phú Thọ with Vĩnh Phúc and Hòa Bình, per the package
        assert {(unit.level, unit.parent_code) for unit in communes} == {(UnitLevel.commune, "25")}


class TestNoCommune:
    async def test_names_the_day_and_the_successor_of_a_merged_commune(
        self, session: AsyncSession
    ) -> None:
        message = await unit_service.no_commune(session, "08731", on=date(2026, 1, 15))

        assert message == (
            "No commune '08731' exists on 2026-01-15; "
            "it was merged into 08707 (Phường Vĩnh Yên) on 2025-07-01."
        )

    async def test_names_every_part_of_a_split_commune(self, session: AsyncSession) -> None:
        message = await unit_service.no_commune(session, "09796", on=date(2026, 1, 15))

        assert message == (
            "No commune '09796' exists on 2026-01-15; it was split among 08980 (Xã Yên Lãng), "
            "09022 (Xã Mê Linh), 09787 (Xã Liên Minh), 09817 (Xã Ô Diên) on 2025-07-01."
        )

    async def test_a_code_that_never_was_names_only_the_day(self, session: AsyncSession) -> None:
        message = await unit_service.no_commune(session, "99999", on=date(2026, 1, 15))

        assert message == "No commune '99999' exists on 2026-01-15."

    async def test_a_code_before_its_unit_existed_names_no_successor(
        self, session: AsyncSession
    ) -> None:
        message = await unit_service.no_commune(session, "08716", on=date(2000, 1, 1))

        assert message == "No commune '08716' exists on 2000-01-01."


class TestPathCodes:
    async def test_three_codes_before_the_reform_and_two_after(self, session: AsyncSession) -> None:
        old = await unit_service.get(session, "08707", on=BEFORE_REFORM)
        new = await unit_service.get(session, "08707", on=AFTER_REFORM)
        assert old is not None
        assert new is not None

        assert unit_service.path_codes(old) == ["26", "243", "08707"]
        assert unit_service.path_codes(new) == ["25", "08707"]
