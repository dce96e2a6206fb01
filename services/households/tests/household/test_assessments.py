import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import FromClause, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.household.models import Assessment, NationalIdClaim

RECORDED = "households.assessment.recorded.v1"
REFERENCE_DATE = "2024-11-01"
QUANG_SON = "08764"  # Xã Quang Sơn, Huyện Lập Thạch (246), Tỉnh Vĩnh Phúc (26): rural
HEAD_ID, SPOUSE_ID = "026079001234", "026182005678"


def member_json(**overrides: Any) -> dict[str, Any]:
    """A working-age head of household with health insurance; override any field."""
    return {
        "full_name": "Nguyễn Văn Hùng",
        "national_id": HEAD_ID,
        "birth_date": "1979-03-15",
        "sex": "male",
        "relation_to_head": "head",
        "working_status": "self_employed",
        "has_health_insurance": True,
        "highest_qualification": "upper_secondary",
    } | overrides


def family() -> list[dict[str, Any]]:
    """Head (45 at the reference date), spouse (42) with a labour contract, child (10) at school."""
    return [
        member_json(),
        member_json(
            full_name="Trần Thị Lan",
            national_id=SPOUSE_ID,
            birth_date="1982-07-20",
            sex="female",
            relation_to_head="spouse",
            working_status="wage_worker",
            has_labour_contract=True,
            highest_qualification="lower_secondary",
        ),
        member_json(
            full_name="Nguyễn Minh Anh",
            national_id=None,
            birth_date="2014-09-02",
            sex="female",
            relation_to_head="child",
            working_status="student",
            attending_school=True,
            school_level="primary",
            highest_qualification="none",
        ),
    ]


def assessment_json(**overrides: Any) -> dict[str, Any]:
    """A valid survey of a 3-member household with a score above the cut-off; override any field."""
    return {
        "members": family(),
        "dwelling": {
            "walls_durable": True,
            "columns_durable": True,
            "roof_durable": True,
            "floor_area_m2": 54.0,
        },
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": True,
        "devices": ["tv", "smartphone"],
        "income_score_a": 180,
    } | overrides


def locs(response: httpx.Response) -> list[str]:
    return [".".join(map(str, error["loc"])) for error in response.json()["errors"]]


async def staged(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """The envelopes of the assessment events in the outbox, oldest first."""
    statement = (
        select(outbox.c.envelope).where(outbox.c.type == RECORDED).order_by(outbox.c.position)
    )
    async with sessionmaker() as session:
        return list(await session.exec(statement))


async def count(
    sessionmaker: async_sessionmaker[AsyncSession], rows_of: type[SQLModel] | FromClause
) -> int:
    async with sessionmaker() as session:
        return (await session.exec(select(func.count()).select_from(rows_of))).one()


async def nothing_written(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """No assessment, no national ID claim and no assessment event exists."""
    return (
        await count(sessionmaker, Assessment),
        await count(sessionmaker, NationalIdClaim),
        len(await staged(sessionmaker)),
    ) == (0, 0, 0)


async def register(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    household_in = {
        "household_code": f"HH-{uuid4().hex[:8].upper()}",
        "commune_code": QUANG_SON,
        "village": "Thôn Đồng Giang",
        "head_name": "Nguyễn Văn Hùng",
    } | overrides
    response = await client.post("/api/v1/households", json=household_in)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_round(client: httpx.AsyncClient, **overrides: Any) -> str:
    round_in = {
        "year": 2024,
        "reference_date": REFERENCE_DATE,
        "standard_id": "VN-2022-2025",
    } | overrides
    response = await client.post("/api/v1/rounds", json=round_in)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
async def household(client: httpx.AsyncClient) -> dict[str, Any]:
    return await register(client)


@pytest.fixture
async def round_id(client: httpx.AsyncClient) -> str:
    return await open_round(client)


@pytest.fixture
def url(household: dict[str, Any], round_id: str) -> str:
    """Where the household's assessment in the round lives."""
    return f"/api/v1/households/{household['id']}/assessments/{round_id}"


class TestRecordAssessment:
    async def test_records_a_new_assessment_in_the_households_commune(
        self, client: httpx.AsyncClient, household: dict[str, Any], round_id: str, url: str
    ) -> None:
        assessment_in = assessment_json()

        response = await client.put(url, json=assessment_in)

        assert response.status_code == 201
        assert response.headers["etag"] == '"1"'
        body = response.json()
        assert (body["household_id"], body["round_id"]) == (household["id"], round_id)
        assert (body["commune_code"], body["area"], body["version"]) == (QUANG_SON, "rural", 1)
        assert [member["full_name"] for member in body["members"]] == [
            "Nguyễn Văn Hùng",
            "Trần Thị Lan",
            "Nguyễn Minh Anh",
        ]
        assert body["members"][1]["national_id"] == SPOUSE_ID
        assert body["dwelling"]["floor_area_m2"] == 54.0
        assert (body["income_score_a"], body["monthly_income_per_person"]) == (180, None)
        assert (await client.get(url)).json() == body

    async def test_stages_one_event_with_ages_area_and_unit_path(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        household: dict[str, Any],
        round_id: str,
        url: str,
    ) -> None:
        response = await client.put(url, json=assessment_json())

        [envelope] = await staged(sessionmaker)
        assessment = response.json()
        assert envelope["type"] == RECORDED
        assert envelope["producer"] == "households"
        assert (envelope["subject"], envelope["sequence"]) == (assessment["id"], 1)
        assert envelope["correlation_id"] == response.headers["x-request-id"]
        data = envelope["data"]
        assert (data["assessment_id"], data["household_id"], data["round_id"]) == (
            assessment["id"],
            household["id"],
            round_id,
        )
        assert (data["standard_id"], data["round_year"], data["reference_date"]) == (
            "VN-2022-2025",
            2024,
            REFERENCE_DATE,
        )
        assert (data["commune_code"], data["commune_name"]) == (QUANG_SON, "Xã Quang Sơn")
        assert data["unit_path"] == ["26", "246", QUANG_SON]
        assert data["area"] == "rural"
        assert [(m["member_no"], m["age_years"], m["age_months"]) for m in data["members"]] == [
            (1, 45, 547),
            (2, 42, 507),
            (3, 10, 121),
        ]
        assert data["members"][1]["has_labour_contract"] is True
        assert data["members"][2]["school_level"] == "primary"
        assert (data["income_score_a"], data["devices"]) == (180, ["tv", "smartphone"])

    async def test_the_event_carries_no_names_birth_dates_or_national_ids(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        await client.put(url, json=assessment_json())

        [envelope] = await staged(sessionmaker)
        text = json.dumps(envelope, ensure_ascii=False)
        for member in family():
            assert member["full_name"] not in text
            assert member["birth_date"] not in text
        for secret in [HEAD_ID, SPOUSE_ID, "full_name", "national_id", "birth_date", "head_name"]:
            assert secret not in text

    @pytest.mark.parametrize(
        ("commune_code", "area", "unit_path"),
        [
            ("08713", "urban", ["26", "243", "08713"]),  # Phường Hội Hợp
            ("08789", "urban", ["26", "246", "08789"]),  # Thị trấn Hoa Sơn
            ("08731", "rural", ["26", "243", "08731"]),  # Xã Thanh Trù
        ],
    )
    async def test_the_area_comes_from_the_commune_type(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
        commune_code: str,
        area: str,
        unit_path: list[str],
    ) -> None:
        household = await register(client, commune_code=commune_code)

        response = await client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_id}", json=assessment_json()
        )

        assert response.json()["area"] == area
        [envelope] = await staged(sessionmaker)
        assert (envelope["data"]["area"], envelope["data"]["unit_path"]) == (area, unit_path)

    async def test_measured_income_alone_is_enough(
        self, client: httpx.AsyncClient, url: str
    ) -> None:
        response = await client.put(
            url, json=assessment_json(income_score_a=None, monthly_income_per_person=1_800_000)
        )

        assert response.status_code == 201
        body = response.json()
        assert (body["income_score_a"], body["monthly_income_per_person"]) == (None, 1_800_000)

    async def test_a_member_born_on_the_reference_date_is_zero_years_old(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        newborn = member_json(
            full_name="Nguyễn Bé",
            national_id=None,
            birth_date=REFERENCE_DATE,
            relation_to_head="child",
            working_status="not_working_other",
            highest_qualification="none",
        )

        response = await client.put(url, json=assessment_json(members=[*family(), newborn]))

        assert response.status_code == 201
        [envelope] = await staged(sessionmaker)
        newborn_facts = envelope["data"]["members"][3]
        assert (newborn_facts["member_no"], newborn_facts["age_years"]) == (4, 0)
        assert newborn_facts["age_months"] == 0

    async def test_a_commune_not_in_force_on_the_reference_date_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        household: dict[str, Any],
    ) -> None:
        # Quang Sơn (08764) ended on 30 Jun 2025, and the reform did not reuse its code.
        round_2026 = await open_round(client, year=2026, reference_date="2026-11-01")

        response = await client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_2026}",
            json=assessment_json(),
        )

        assert response.status_code == 422
        assert "2026-11-01" in response.json()["detail"]
        assert await nothing_written(sessionmaker)

    async def test_an_unknown_household_is_a_404_and_nothing_is_written(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
    ) -> None:
        response = await client.put(
            f"/api/v1/households/{uuid4()}/assessments/{round_id}", json=assessment_json()
        )

        assert response.status_code == 404
        assert response.json()["title"] == "Not Found"
        assert await nothing_written(sessionmaker)

    async def test_an_unknown_round_is_a_404_and_nothing_is_written(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        household: dict[str, Any],
    ) -> None:
        round_id = uuid4()

        response = await client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_id}", json=assessment_json()
        )

        assert response.status_code == 404
        assert str(round_id) in response.json()["detail"]
        assert await nothing_written(sessionmaker)


class TestRecordAssessmentRules:
    """Every refused survey names the field at fault and writes nothing at all."""

    async def test_a_birth_date_after_the_reference_date_is_refused(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        members = family()
        members[2]["birth_date"] = "2024-11-02"

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.2.birth_date"]
        assert "2024-11-02" in response.json()["detail"]
        assert await nothing_written(sessionmaker)
        assert (await client.get(url)).status_code == 404

    async def test_an_impossible_age_is_refused(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        members = family()
        members[0]["birth_date"] = "1890-01-01"

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.0.birth_date"]
        assert await nothing_written(sessionmaker)

    @pytest.mark.parametrize(
        ("overrides", "loc"),
        [
            ({"dwelling": {"floor_area_m2": -1}}, "body.dwelling.floor_area_m2"),
            ({"income_score_a": 1001}, "body.income_score_a"),
            ({"income_score_a": -1}, "body.income_score_a"),
            ({"monthly_income_per_person": -5}, "body.monthly_income_per_person"),
            ({"water_source": "river"}, "body.water_source"),
            ({"devices": ["fax"]}, "body.devices.0"),
            ({"members": []}, "body.members"),
        ],
    )
    async def test_an_out_of_range_fact_is_refused_by_name(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str,
        overrides: dict[str, Any],
        loc: str,
    ) -> None:
        response = await client.put(url, json=assessment_json(**overrides))

        assert response.status_code == 422
        assert locs(response) == [loc]
        assert await nothing_written(sessionmaker)

    @pytest.mark.parametrize(
        ("relations", "found"),
        [(["spouse", "spouse", "child"], 0), (["head", "head", "child"], 2)],
        ids=["no head", "two heads"],
    )
    async def test_exactly_one_head_is_required(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str,
        relations: list[str],
        found: int,
    ) -> None:
        members = [
            member | {"relation_to_head": relation}
            for member, relation in zip(family(), relations, strict=True)
        ]

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body"]
        [error] = response.json()["errors"]
        assert f"exactly one member must be the head (found {found})" in error["msg"]
        assert await nothing_written(sessionmaker)

    async def test_a_score_or_a_measured_income_is_required(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        response = await client.put(url, json=assessment_json(income_score_a=None))

        assert response.status_code == 422
        assert locs(response) == ["body"]
        assert "income_score_a" in response.json()["errors"][0]["msg"]
        assert await nothing_written(sessionmaker)

    async def test_a_wage_worker_needs_the_labour_contract_answer(
        self, client: httpx.AsyncClient, url: str
    ) -> None:
        members = family()
        del members[1]["has_labour_contract"]

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.1"]
        assert "has_labour_contract" in response.json()["errors"][0]["msg"]

    async def test_a_malformed_national_id_is_refused_by_name(
        self, client: httpx.AsyncClient, url: str
    ) -> None:
        members = family()
        members[1]["national_id"] = "0261-8200"

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.1.national_id"]

    @pytest.mark.parametrize("number", ["1e309", "-1e309", "Infinity", "-Infinity", "NaN"])
    async def test_a_floor_area_that_is_not_a_finite_number_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str,
        number: str,
    ) -> None:
        # Python's JSON reader takes these (1e309 overflows to infinity); JSON cannot carry the
        # result on, so the event would hold null and the indicators service refuse it.
        body = json.dumps(assessment_json()).replace(
            '"floor_area_m2": 54.0', f'"floor_area_m2": {number}'
        )
        assert number in body

        response = await client.put(url, content=body, headers={"Content-Type": "application/json"})

        assert response.status_code == 422, response.text
        assert locs(response) == ["body.dwelling.floor_area_m2"]
        assert await nothing_written(sessionmaker)

    @pytest.mark.parametrize(
        ("overrides", "loc"),
        [
            ({"colour": "red"}, "body.colour"),
            ({"dwelling": {"floor_area_m2": 54.0, "garden_m2": 10}}, "body.dwelling.garden_m2"),
        ],
    )
    async def test_an_unknown_field_is_refused_by_name(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str,
        overrides: dict[str, Any],
        loc: str,
    ) -> None:
        response = await client.put(url, json=assessment_json(**overrides))

        assert response.status_code == 422
        assert locs(response) == [loc]
        assert await nothing_written(sessionmaker)

    async def test_an_unknown_field_of_a_member_is_refused_by_name(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        members = family()
        members[1]["nickname"] = "Lan"

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.1.nickname"]
        assert await nothing_written(sessionmaker)

    async def test_a_name_typed_decomposed_is_stored_composed_and_trimmed(
        self, client: httpx.AsyncClient, url: str
    ) -> None:
        members = family()
        members[1]["full_name"] = " " + unicodedata.normalize("NFD", "Trần Thị Lan") + " "

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 201
        assert response.json()["members"][1]["full_name"] == "Trần Thị Lan"

    @pytest.mark.parametrize("character", ["\x00", "\u200b", "\u202e", "\n"])
    async def test_a_name_with_a_control_or_invisible_character_is_refused(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str,
        character: str,
    ) -> None:
        members = family()
        members[1]["full_name"] = f"Trần Thị{character} Lan"

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.1.full_name"]
        assert await nothing_written(sessionmaker)


class TestNationalIdFormat:
    """A CCCD is 12 digits, an old CMND number 9; NFKC reads full-width digits as ASCII ones."""

    @pytest.mark.parametrize(
        "number",
        [
            "02607900123",  # 11 digits
            "0260790012345",  # 13
            "02607900",  # 8
            "0260790012",  # 10
            "026 079 001 234",  # grouped with spaces: refused, not guessed at
            "026.079.001.234",
            "٠٢٦٠٧٩٠٠١٢٣٤",  # Arabic-Indic digits: no ASCII equivalent under NFKC
            "026079001234\u200b",  # a zero-width space after it
            "",
        ],
    )
    async def test_anything_but_9_or_12_digits_is_refused_by_name(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        url: str,
        number: str,
    ) -> None:
        members = family()
        members[1]["national_id"] = number

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.1.national_id"]
        assert await nothing_written(sessionmaker)

    @pytest.mark.parametrize(
        ("number", "stored"),
        [
            ("026182005678", "026182005678"),
            ("026182005", "026182005"),  # an old 9-digit CMND number
            ("０２６１８２００５６７８", "026182005678"),  # full-width digits
        ],
    )
    async def test_12_or_9_digits_are_stored_in_ascii(
        self, client: httpx.AsyncClient, url: str, number: str, stored: str
    ) -> None:
        members = family()
        members[1]["national_id"] = number

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 201, response.text
        assert response.json()["members"][1]["national_id"] == stored

    async def test_full_width_digits_are_the_same_id_within_a_household(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        members = family()
        members[2]["national_id"] = HEAD_ID.translate(FULL_WIDTH)

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.2.national_id"]
        assert await nothing_written(sessionmaker)

    async def test_full_width_digits_are_the_same_id_in_another_household_of_the_round(
        self, client: httpx.AsyncClient, round_id: str, url: str
    ) -> None:
        await client.put(url, json=assessment_json())
        neighbour = await register(client)
        members = family()
        members[0]["national_id"] = HEAD_ID.translate(FULL_WIDTH)
        members[1]["national_id"] = None

        response = await client.put(
            f"/api/v1/households/{neighbour['id']}/assessments/{round_id}",
            json=assessment_json(members=members),
        )

        # The same person as the first household's head: a clash for review, not a new ID.
        assert response.status_code == 201
        assert response.json()["review"]["status"] == "needs_review"
        assert [r["loc"] for r in response.json()["review"]["reasons"]] == [
            ["members", 0, "national_id"]
        ]


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


class TestRecordAssessmentNationalIds:
    async def test_the_same_id_for_two_members_is_refused_naming_the_second(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        members = family()
        members[2]["national_id"] = HEAD_ID

        response = await client.put(url, json=assessment_json(members=members))

        assert response.status_code == 422
        assert locs(response) == ["body.members.2.national_id"]
        assert "members 1 and 3" in response.json()["detail"]
        assert await nothing_written(sessionmaker)

    async def test_an_id_recorded_for_another_household_in_the_round_needs_review(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
        round_id: str,
        url: str,
    ) -> None:
        """One person in one household per round: the clash goes to supervisors (see
        test_conflicts.py) instead of refusing the survey."""
        await client.put(url, json=assessment_json())
        neighbour = await register(client)
        members = family()
        members[0]["national_id"] = "026090009999"
        members[1]["national_id"] = "026190008888"
        members[2]["national_id"] = SPOUSE_ID  # the first household's spouse
        neighbour_url = f"/api/v1/households/{neighbour['id']}/assessments/{round_id}"

        response = await client.put(neighbour_url, json=assessment_json(members=members))

        assert response.status_code == 201
        assert [r["loc"] for r in response.json()["review"]["reasons"]] == [
            ["members", 2, "national_id"]
        ]
        assert len(await staged(sessionmaker)) == 2
        assert await count(sessionmaker, NationalIdClaim) == 4

    async def test_the_same_id_is_allowed_in_another_round(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        await client.put(url, json=assessment_json())
        later_round = await open_round(client, year=2025, reference_date="2025-06-01")
        neighbour = await register(client)

        response = await client.put(
            f"/api/v1/households/{neighbour['id']}/assessments/{later_round}",
            json=assessment_json(),
        )

        assert response.status_code == 201
        assert len(await staged(sessionmaker)) == 2

    async def test_an_id_dropped_by_a_replacement_is_free_for_another_household(
        self, client: httpx.AsyncClient, round_id: str, url: str
    ) -> None:
        await client.put(url, json=assessment_json())
        members = family()
        members[1]["national_id"] = None
        replaced = await client.put(
            url, json=assessment_json(members=members), headers={"If-Match": '"1"'}
        )
        assert replaced.status_code == 200
        neighbour = await register(client)
        neighbour_members = family()
        neighbour_members[0]["national_id"] = SPOUSE_ID
        neighbour_members[1]["national_id"] = None

        response = await client.put(
            f"/api/v1/households/{neighbour['id']}/assessments/{round_id}",
            json=assessment_json(members=neighbour_members),
        )

        assert response.status_code == 201


class TestReplaceAssessment:
    async def test_with_the_current_etag_it_replaces_and_stages_the_next_sequence(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        first = (await client.put(url, json=assessment_json())).json()

        response = await client.put(
            url,
            json=assessment_json(internet_use=False, devices=[], income_score_a=120),
            headers={"If-Match": '"1"'},
        )

        assert response.status_code == 200
        assert response.headers["etag"] == '"2"'
        body = response.json()
        assert (body["id"], body["version"], body["created_at"]) == (
            first["id"],
            2,
            first["created_at"],
        )
        assert (body["internet_use"], body["devices"], body["income_score_a"]) == (False, [], 120)
        assert (await client.get(url)).json() == body
        assert [(e["subject"], e["sequence"]) for e in await staged(sessionmaker)] == [
            (first["id"], 1),
            (first["id"], 2),
        ]
        assert (await staged(sessionmaker))[1]["data"]["income_score_a"] == 120

    async def test_a_stale_etag_fails_and_stages_nothing(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        await client.put(url, json=assessment_json())
        second = (
            await client.put(
                url, json=assessment_json(income_score_a=150), headers={"If-Match": '"1"'}
            )
        ).json()

        response = await client.put(
            url, json=assessment_json(income_score_a=99), headers={"If-Match": '"1"'}
        )

        assert response.status_code == 412
        assert "version 2" in response.json()["detail"]
        assert (await client.get(url)).json() == second
        assert [e["sequence"] for e in await staged(sessionmaker)] == [1, 2]

    async def test_without_if_match_it_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        first = (await client.put(url, json=assessment_json())).json()

        response = await client.put(url, json=assessment_json(income_score_a=99))

        assert response.status_code == 428
        assert (await client.get(url)).json() == first
        assert len(await staged(sessionmaker)) == 1

    async def test_a_replacement_keeps_its_own_national_ids(
        self, client: httpx.AsyncClient, url: str
    ) -> None:
        await client.put(url, json=assessment_json())

        response = await client.put(
            url, json=assessment_json(latrine="simple_pit"), headers={"If-Match": '"1"'}
        )

        assert response.status_code == 200
        assert response.json()["members"][0]["national_id"] == HEAD_ID

    async def test_an_invalid_replacement_leaves_the_stored_one(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], url: str
    ) -> None:
        first = (await client.put(url, json=assessment_json())).json()
        members = family()
        members[2]["national_id"] = HEAD_ID

        response = await client.put(
            url, json=assessment_json(members=members), headers={"If-Match": '"1"'}
        )

        assert response.status_code == 422
        assert (await client.get(url)).json() == first
        assert len(await staged(sessionmaker)) == 1


class TestGetAssessment:
    async def test_gets_it_with_its_etag(self, client: httpx.AsyncClient, url: str) -> None:
        recorded = (await client.put(url, json=assessment_json())).json()

        response = await client.get(url)

        assert response.status_code == 200
        assert response.headers["etag"] == '"1"'
        assert response.json() == recorded

    async def test_a_household_not_surveyed_in_the_round_is_a_404(
        self, client: httpx.AsyncClient, url: str
    ) -> None:
        response = await client.get(url)

        assert response.status_code == 404
        assert "has no assessment" in response.json()["detail"]


class TestListAssessments:
    async def test_lists_a_rounds_assessments_within_a_unit(
        self, client: httpx.AsyncClient, round_id: str, url: str
    ) -> None:
        in_quang_son = (await client.put(url, json=assessment_json())).json()
        elsewhere = await register(client, commune_code="08713")
        await client.put(
            f"/api/v1/households/{elsewhere['id']}/assessments/{round_id}",
            json=assessment_json(members=[member_json(national_id=None)]),
        )

        in_district = await client.get(
            "/api/v1/assessments", params={"round_id": round_id, "unit_code": "246"}
        )
        in_province = await client.get(
            "/api/v1/assessments", params={"round_id": round_id, "unit_code": "26"}
        )

        assert in_district.json() == {"items": [in_quang_son], "total": 1, "offset": 0, "limit": 50}
        assert in_province.json()["total"] == 2

    async def test_only_the_rounds_own_assessments_are_listed(
        self, client: httpx.AsyncClient, round_id: str, url: str
    ) -> None:
        await client.put(url, json=assessment_json())
        other_round = await open_round(client, kind="regular", reference_date="2024-11-15")

        response = await client.get("/api/v1/assessments", params={"round_id": other_round})

        assert response.json()["items"] == []

    async def test_an_unknown_round_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/assessments", params={"round_id": str(uuid4())})

        assert response.status_code == 404

    async def test_the_round_is_required(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/assessments")

        assert response.status_code == 422
        assert locs(response) == ["query.round_id"]


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL the engine sends while in the block."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


class TestReferenceLookups:
    """Units change only by migration and a round never changes once opened: a process looks
    each up once."""

    async def test_writes_read_their_commune_and_round_once(
        self, client: httpx.AsyncClient, engine: AsyncEngine, round_id: str
    ) -> None:
        survey = assessment_json(members=[member_json(national_id=None)])

        with statements(engine) as sent:
            for _ in range(3):
                household = await register(client)
                path = f"/api/v1/households/{household['id']}/assessments/{round_id}"
                response = await client.put(path, json=survey)
                assert response.status_code == 201, response.text

        def reading(table: str) -> int:
            return sum(f"FROM {table}" in statement for statement in sent)

        # The commune's latest version (to register) and its version on the reference date.
        assert reading("admin_unit") == 2
        assert reading("review_round") == 1

    async def test_an_unknown_commune_is_refused_every_time(
        self, client: httpx.AsyncClient
    ) -> None:
        for _ in range(2):
            response = await client.post(
                "/api/v1/households",
                json={"household_code": "HH-X", "commune_code": "99999", "village": "Thôn 1"},
            )
            assert response.status_code == 422
