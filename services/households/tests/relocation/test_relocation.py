"""Households follow the map: a household of a commune merged whole is carried to its successor;
one of a split commune is listed with the candidates for an officer to assign; its past surveys
keep the communes they were recorded in."""

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.config import Settings
from households.db import outbox
from households.household.models import Household
from households.migrate import migrate
from households.review.models import CommuneReview
from kit import testing
from kit.auth import Role
from kit.contracts.households import ReviewState

RELOCATIONS = "/api/v1/households/relocations"
UPDATED = "households.household.updated.v1"
RECORDED = "households.assessment.recorded.v1"
# Lập Thạch (246), Vĩnh Phúc (26): Quang Sơn and Ngọc Mỹ went whole, with Hợp Lý itself, into the
# new Xã Hợp Lý of Phú Thọ (25), which kept the code 08770.
QUANG_SON, NGOC_MY, HOP_LY = "08764", "08767", "08770"
# Xã Hồng Hà, Đan Phượng (273), Hà Nội (01): split among four new communes.
HONG_HA = "09796"
HONG_HA_SUCCESSORS = [
    ("08980", "Xã Yên Lãng"),
    ("09022", "Xã Mê Linh"),
    ("09787", "Xã Liên Minh"),
    ("09817", "Xã Ô Diên"),
]

Client = Callable[..., httpx.AsyncClient]
BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.infra)], indirect=True
)


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, seeded_database: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """SQLite, or a migrated PostgreSQL database for the tests marked `BOTH_DATABASES` (the
    relocation queries group, lock rows of one table of a join, and compare NULL districts)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        copy = tmp_path / "households.db"
        shutil.copyfile(seeded_database, copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return
    testing.require_infra()
    url = await testing.create_database("households_relocation")
    try:
        await migrate(Settings(DATABASE_URL=url, LOG_JSON=False, LOG_LEVEL="WARNING"))
        yield url
    finally:
        await testing.drop_database(url)


def survey_json() -> dict[str, Any]:
    head = {
        "full_name": "Nguyễn Văn Hùng",
        "national_id": None,
        "birth_date": "1979-03-15",
        "sex": "male",
        "relation_to_head": "head",
        "working_status": "self_employed",
        "has_health_insurance": True,
        "highest_qualification": "upper_secondary",
    }
    return {
        "members": [head],
        "dwelling": {"floor_area_m2": 54.0},
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": True,
        "devices": ["tv"],
        "income_score_a": 180,
    }


async def register(
    client: httpx.AsyncClient, code: str, commune: str, village: str = "Thôn Đồng"
) -> str:
    response = await client.post(
        "/api/v1/households",
        json={"household_code": code, "commune_code": commune, "village": village},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def register_in_old_hop_ly(sessionmaker: async_sessionmaker[AsyncSession], code: str) -> str:
    """A household of the old Hợp Lý, as a 2024 import left it: the API registers a reused code
    in the commune in force today."""
    household = Household(
        household_code=code,
        commune_code=HOP_LY,
        province_code="26",
        district_code="246",
        village="Thôn Hợp Lý",
    )
    async with sessionmaker() as session, session.begin():
        session.add(household)
    return str(household.id)


async def household(client: httpx.AsyncClient, household_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/households/{household_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def staged(sessionmaker: async_sessionmaker[AsyncSession], kind: str) -> list[Any]:
    statement = select(outbox.c.envelope).where(outbox.c.type == kind)
    async with sessionmaker() as session:
        return list(await session.exec(statement.order_by(outbox.c.position)))


async def open_round(client: httpx.AsyncClient, year: int, reference_date: str) -> str:
    response = await client.post(
        "/api/v1/rounds",
        json={"year": year, "reference_date": reference_date, "standard_id": "VN-2022-2025"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestCarry:
    @BOTH_DATABASES
    async def test_a_household_of_a_commune_merged_whole_is_carried_to_its_successor(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        household_id = await register(client, "QS-1", QUANG_SON)

        response = await client.post(RELOCATIONS, json={})

        assert response.status_code == 200, response.text
        assert response.json() == {"carried": 1, "codes_changed": [], "held": [], "remaining": 0}
        moved = await household(client, household_id)
        assert (moved["commune_code"], moved["province_code"], moved["district_code"]) == (
            HOP_LY,
            "25",
            "",
        )
        assert (moved["household_code"], moved["version"]) == ("QS-1", 2)
        [event] = await staged(sessionmaker, UPDATED)
        assert (event["subject"], event["sequence"]) == (household_id, 2)
        assert (event["data"]["commune_code"], event["data"]["unit_path"]) == (
            HOP_LY,
            ["25", HOP_LY],
        )
        async with sessionmaker() as session:
            [entry] = await session.exec(
                select(AuditEntry).where(AuditEntry.action == "household.relocated")
            )
        assert entry.changes["relocation"] == "carried"
        assert entry.changes["from"]["unit_path"] == ["26", "246", QUANG_SON]
        assert entry.changes["commune_code"] == {"old": QUANG_SON, "new": HOP_LY}

    async def test_a_second_carry_moves_nothing(self, client: httpx.AsyncClient) -> None:
        await register(client, "QS-1", QUANG_SON)
        await client.post(RELOCATIONS)

        response = await client.post(RELOCATIONS)

        assert response.json() == {"carried": 0, "codes_changed": [], "held": [], "remaining": 0}

    async def test_a_split_communes_household_is_not_carried(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA)

        response = await client.post(RELOCATIONS)

        assert response.json()["carried"] == 0
        assert (await household(client, household_id))["commune_code"] == HONG_HA
        assert await staged(sessionmaker, UPDATED) == []

    async def test_a_household_already_on_the_map_is_left_alone(
        self, client: httpx.AsyncClient
    ) -> None:
        household_id = await register(client, "HL-1", HOP_LY)  # today's Hợp Lý

        response = await client.post(RELOCATIONS)

        assert response.json()["carried"] == 0
        assert (await household(client, household_id))["version"] == 1

    async def test_a_limit_carries_a_batch_and_says_how_many_remain(
        self, client: httpx.AsyncClient
    ) -> None:
        for number in range(3):
            await register(client, f"QS-{number}", QUANG_SON)

        first = await client.post(RELOCATIONS, json={"limit": 2})
        second = await client.post(RELOCATIONS, json={"limit": 2})

        assert (first.json()["carried"], first.json()["remaining"]) == (2, 1)
        assert (second.json()["carried"], second.json()["remaining"]) == (1, 0)

    async def test_only_into_a_commune_the_callers_scope_covers(
        self, client: httpx.AsyncClient, as_role: Client
    ) -> None:
        household_id = await register(client, "QS-1", QUANG_SON)

        hanoi = await as_role(Role.PROVINCE_OFFICER, "01").post(RELOCATIONS)
        # An officer still over the old province reaches the household, not its new commune.
        old_province = await as_role(Role.PROVINCE_OFFICER, "26").post(RELOCATIONS)
        phu_tho = await as_role(Role.PROVINCE_OFFICER, "25").post(RELOCATIONS)

        assert hanoi.json()["carried"] == old_province.json()["carried"] == 0
        assert phu_tho.json()["carried"] == 1
        assert (await household(client, household_id))["commune_code"] == HOP_LY

    async def test_a_unit_code_carries_only_into_that_unit(self, client: httpx.AsyncClient) -> None:
        household_id = await register(client, "QS-1", QUANG_SON)

        hanoi = await client.post(RELOCATIONS, json={"unit_code": "01"})
        elsewhere = await client.post(RELOCATIONS, json={"unit_code": "08707"})
        hop_ly = await client.post(RELOCATIONS, json={"unit_code": HOP_LY})

        assert (hanoi.json()["carried"], elsewhere.json()["carried"]) == (0, 0)
        assert hop_ly.json()["carried"] == 1
        assert (await household(client, household_id))["commune_code"] == HOP_LY


class TestCodesPerCommune:
    async def test_a_code_taken_in_the_new_commune_gets_the_old_communes_prefix(
        self, client: httpx.AsyncClient
    ) -> None:
        quang_son = await register(client, "H-1", QUANG_SON)
        ngoc_my = await register(client, "H-1", NGOC_MY)

        response = await client.post(RELOCATIONS)

        assert response.json()["carried"] == 2
        # In order of old commune: Quang Sơn's keeps the code, Ngọc Mỹ's is prefixed.
        assert response.json()["codes_changed"] == [
            {"household_id": ngoc_my, "old_code": "H-1", "new_code": "08767-H-1"}
        ]
        assert (await household(client, quang_son))["household_code"] == "H-1"
        assert (await household(client, ngoc_my))["household_code"] == "08767-H-1"

    @BOTH_DATABASES
    async def test_the_household_of_the_commune_whose_code_lives_on_keeps_its_code(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        quang_son = await register(client, "H-2", QUANG_SON)
        hop_ly = await register_in_old_hop_ly(sessionmaker, "H-2")

        response = await client.post(RELOCATIONS)

        assert response.json()["carried"] == 2
        assert [change["household_id"] for change in response.json()["codes_changed"]] == [
            quang_son
        ]
        old_hop_ly = await household(client, hop_ly)
        assert (old_hop_ly["household_code"], old_hop_ly["province_code"]) == ("H-2", "25")
        assert (await household(client, quang_son))["household_code"] == "08764-H-2"

    async def test_when_the_prefixed_code_is_taken_too_the_household_is_held_for_an_officer(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "H-3", HOP_LY)
        await register(client, "08764-H-3", HOP_LY)
        held = await register(client, "H-3", QUANG_SON)

        response = await client.post(RELOCATIONS)
        listed = await client.get(RELOCATIONS, params={"waiting_for": "carry"})
        assigned = await client.post(
            f"{RELOCATIONS}/{held}/assignment",
            json={"commune_code": HOP_LY, "household_code": "H-3-QS"},
        )

        assert response.json()["carried"] == 0
        [entry] = response.json()["held"]
        assert entry["household_id"] == held
        assert "'08764-H-3'" in entry["reason"]
        assert [item["household_id"] for item in listed.json()["items"]] == [held]
        assert assigned.status_code == 200, assigned.text
        assert (assigned.json()["commune_code"], assigned.json()["household_code"]) == (
            HOP_LY,
            "H-3-QS",
        )

    async def test_a_held_household_does_not_use_up_the_batch(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "H-3", HOP_LY)
        await register(client, "08764-H-3", HOP_LY)
        held = await register(client, "H-3", QUANG_SON)  # first in order: Quang Sơn, 08764
        carried = await register(client, "H-6", NGOC_MY)

        first = await client.post(RELOCATIONS, json={"limit": 1})
        second = await client.post(RELOCATIONS, json={"limit": 1})

        assert (first.json()["carried"], first.json()["remaining"]) == (1, 0)
        assert [entry["household_id"] for entry in first.json()["held"]] == [held]
        assert (await household(client, carried))["commune_code"] == HOP_LY
        assert (second.json()["carried"], len(second.json()["held"])) == (0, 1)

    async def test_an_assignment_to_a_taken_code_is_a_conflict_naming_the_code(
        self, client: httpx.AsyncClient
    ) -> None:
        await register(client, "H-4", HOP_LY)
        household_id = await register(client, "H-5", QUANG_SON)

        response = await client.post(
            f"{RELOCATIONS}/{household_id}/assignment",
            json={"commune_code": HOP_LY, "household_code": "H-4"},
        )

        assert response.status_code == 409
        assert [error["loc"] for error in response.json()["errors"]] == [["body", "household_code"]]
        assert (await household(client, household_id))["commune_code"] == QUANG_SON


class TestSplits:
    async def test_a_split_communes_households_are_listed_with_the_candidates_and_village(
        self, client: httpx.AsyncClient
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA, village="Thôn Thượng Hội")
        await register(client, "QS-1", QUANG_SON)

        response = await client.get(RELOCATIONS, params={"waiting_for": "assignment"})

        assert response.status_code == 200, response.text
        assert response.json()["total"] == 1
        [item] = response.json()["items"]
        assert item["household_id"] == household_id
        assert item["village"] == "Thôn Thượng Hội"
        assert item["commune"] == {
            "code": HONG_HA,
            "name": "Xã Hồng Hà",
            "unit_path": ["01", "273", HONG_HA],
            "valid_to": "2025-06-30",
        }
        assert [(c["code"], c["name"], c["relation"]) for c in item["candidates"]] == [
            (code, name, "partial") for code, name in HONG_HA_SUCCESSORS
        ]
        assert item["waiting_for"] == "assignment"

    async def test_both_kinds_are_listed_without_a_filter(self, client: httpx.AsyncClient) -> None:
        await register(client, "HH-1", HONG_HA)
        await register(client, "QS-1", QUANG_SON)

        response = await client.get(RELOCATIONS)

        assert [(i["household_code"], i["waiting_for"]) for i in response.json()["items"]] == [
            ("QS-1", "carry"),  # by old commune code
            ("HH-1", "assignment"),
        ]

    async def test_an_officer_assigns_one_of_the_candidates(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA)

        response = await client.post(
            f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": "09022"}
        )

        assert response.status_code == 200, response.text
        assert (response.json()["commune_code"], response.json()["district_code"]) == (
            "09022",
            "",
        )
        assert response.headers["ETag"] == '"2"'
        [event] = await staged(sessionmaker, UPDATED)
        assert event["data"]["unit_path"] == ["01", "09022"]
        assert (await client.get(RELOCATIONS)).json()["total"] == 0

    async def test_a_commune_that_is_not_a_candidate_is_refused_naming_the_field(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA)

        response = await client.post(
            f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": HOP_LY}
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "commune_code"]
        assert "08980, 09022, 09787, 09817" in response.json()["detail"]
        assert (await household(client, household_id))["version"] == 1
        assert await staged(sessionmaker, UPDATED) == []

    async def test_a_household_on_the_map_in_force_has_nothing_to_assign(
        self, client: httpx.AsyncClient
    ) -> None:
        household_id = await register(client, "HL-1", HOP_LY)

        response = await client.post(
            f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": HOP_LY}
        )

        assert response.status_code == 409


class TestReach:
    @BOTH_DATABASES
    async def test_an_officer_of_a_candidate_sees_and_assigns_into_their_commune_only(
        self, client: httpx.AsyncClient, as_role: Client
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA)
        me_linh = as_role(Role.COMMUNE_OFFICER, "09022")

        listed = await me_linh.get(RELOCATIONS)
        elsewhere = await me_linh.post(
            f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": "08980"}
        )
        here = await me_linh.post(
            f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": "09022"}
        )

        assert [item["household_id"] for item in listed.json()["items"]] == [household_id]
        assert elsewhere.status_code == 422
        assert elsewhere.json()["errors"][0]["loc"] == ["body", "commune_code"]
        assert here.status_code == 200, here.text

    async def test_an_officer_of_neither_commune_neither_sees_nor_assigns(
        self, client: httpx.AsyncClient, as_role: Client
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA)
        hop_ly = as_role(Role.COMMUNE_OFFICER, HOP_LY)

        listed = await hop_ly.get(RELOCATIONS)
        assigned = await hop_ly.post(
            f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": "09022"}
        )

        assert listed.json()["total"] == 0
        assert assigned.status_code == 404

    async def test_an_officer_of_the_old_commune_sees_its_households(
        self, client: httpx.AsyncClient, as_role: Client
    ) -> None:
        household_id = await register(client, "HH-1", HONG_HA)

        listed = await as_role(Role.PROVINCE_OFFICER, "273").get(RELOCATIONS)

        assert [item["household_id"] for item in listed.json()["items"]] == [household_id]


class TestHistory:
    @BOTH_DATABASES
    async def test_a_past_survey_keeps_its_commune_and_a_new_one_takes_the_new_commune(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        household_id = await register(client, "QS-1", QUANG_SON)
        round_2024 = await open_round(client, 2024, "2024-11-01")
        round_2026 = await open_round(client, 2026, "2026-01-15")
        surveyed = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2024}", json=survey_json()
        )
        assert surveyed.status_code == 201, surveyed.text

        await client.post(RELOCATIONS)
        past = await client.get(f"/api/v1/households/{household_id}/assessments/{round_2024}")
        replaced = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2024}",
            json=survey_json() | {"income_score_a": 130},
            headers={"If-Match": past.headers["ETag"]},
        )
        new = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2026}", json=survey_json()
        )

        assert past.json()["commune_code"] == QUANG_SON
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["commune_code"] == QUANG_SON
        assert new.status_code == 201, new.text
        assert new.json()["commune_code"] == HOP_LY
        first, replacement, latest = await staged(sessionmaker, RECORDED)
        for event in (first, replacement):
            assert (event["data"]["round_id"], event["data"]["unit_path"]) == (
                round_2024,
                ["26", "246", QUANG_SON],
            )
            assert event["data"]["commune_name"] == "Xã Quang Sơn"
        assert (latest["data"]["round_id"], latest["data"]["unit_path"]) == (
            round_2026,
            ["25", HOP_LY],
        )

    async def test_an_approved_past_round_stays_read_only_after_the_move(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        """The read-only rule follows the commune the survey was in, not the household's new one."""
        household_id = await register(client, "QS-1", QUANG_SON)
        round_2024 = await open_round(client, 2024, "2024-11-01")
        await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2024}", json=survey_json()
        )
        async with sessionmaker() as session, session.begin():
            session.add(
                CommuneReview(
                    round_id=UUID(round_2024),
                    commune_code=QUANG_SON,
                    province_code="26",
                    district_code="246",
                    state=ReviewState.approved,
                )
            )
        await client.post(RELOCATIONS)

        replaced = await client.put(
            f"/api/v1/households/{household_id}/assessments/{round_2024}",
            json=survey_json(),
            headers={"If-Match": '"1"'},
        )

        assert replaced.status_code == 409
        assert QUANG_SON in replaced.json()["detail"]

    async def test_carrying_and_assigning_publish_no_survey(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        """Figures as reported come from the surveys' events: a move publishes none."""
        carried = await register(client, "QS-1", QUANG_SON)
        split = await register(client, "HH-1", HONG_HA)
        round_2024 = await open_round(client, 2024, "2024-11-01")
        for household_id in (carried, split):
            await client.put(
                f"/api/v1/households/{household_id}/assessments/{round_2024}", json=survey_json()
            )
        before = await staged(sessionmaker, RECORDED)

        await client.post(RELOCATIONS)
        await client.post(f"{RELOCATIONS}/{split}/assignment", json={"commune_code": "09787"})

        assert await staged(sessionmaker, RECORDED) == before
        assert [event["data"]["commune_code"] for event in await staged(sessionmaker, UPDATED)] == [
            HOP_LY,
            "09787",
        ]


@pytest.mark.parametrize("role", [Role.ENUMERATOR, Role.MINISTRY_ANALYST])
async def test_roles_without_the_permission_may_not_relocate(
    client: httpx.AsyncClient, as_role: Client, role: Role
) -> None:
    household_id = await register(client, "HH-1", HONG_HA)
    caller = as_role(role, "09022") if role is Role.ENUMERATOR else as_role(role)

    carry = await caller.post(RELOCATIONS)
    assign = await caller.post(
        f"{RELOCATIONS}/{household_id}/assignment", json={"commune_code": "09022"}
    )

    assert (carry.status_code, assign.status_code) == (403, 403)


async def test_the_relocations_path_is_no_household_id(client: httpx.AsyncClient) -> None:
    response = await client.patch(RELOCATIONS, json={"village": "Thôn 1"})

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
