"""Who sees which figures and classifications: unit scope, roles, and perturbed small cells."""

from collections.abc import Callable
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment, member
from indicators.figures.cell_key import MAX_NOISE, perturb, record_keys
from indicators.handlers import consumer
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Area,
    PopulationRecordedV1,
    Qualification,
    Relation,
    WorkingStatus,
)
from kit.messaging import IncomingMessage

ROUND = UUID("00000000-0000-4000-8000-000000000003")
TICH_SON = ["26", "243", "08707"]
QUANG_SON = ["26", "246", "08764"]
AsRole = Callable[..., httpx.AsyncClient]


def _message(event: Event, subject: str) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


async def _survey(
    sessionmaker: async_sessionmaker[AsyncSession], path: list[str], *, poor: int, not_poor: int
) -> dict[str, list[UUID]]:
    """Households in the commune at the end of `path`; their ids by class."""
    handle = consumer(sessionmaker)
    ids: dict[str, list[UUID]] = {"poor": [], "not_poor": []}
    for index in range(poor + not_poor):
        is_poor = index < poor
        household_id, assessment_id = uuid4(), uuid4()
        event = assessment(
            assessment_id=assessment_id,
            household_id=household_id,
            household_code=f"{path[-1]}-{index}",
            commune_code=path[-1],
            unit_path=path,
            members=[member(1, has_health_insurance=not is_poor), member(2, age_years=38)],
            internet_use=not is_poor,
            devices=[] if is_poor else ["smartphone"],
            income_score_a=100 if is_poor else 300,
        )
        await handle(_message(event, str(assessment_id)))
        ids["poor" if is_poor else "not_poor"].append(household_id)
    population = PopulationRecordedV1(
        round_id=ROUND,
        unit_code=path[-1],
        unit_path=path,
        area=Area.rural,
        resident_households=(poor + not_poor) * 2,
        resident_persons=(poor + not_poor) * 4,
    )
    await handle(_message(population, f"population:{path[-1]}"))
    return ids


@pytest.fixture
async def households(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[str, dict[str, list[UUID]]]:
    """Tích Sơn: 3 poor of 23 (a small cell); Quang Sơn: 6 poor of 16."""
    return {
        "08707": await _survey(sessionmaker, TICH_SON, poor=3, not_poor=20),
        "08764": await _survey(sessionmaker, QUANG_SON, poor=6, not_poor=10),
    }


async def _figures(client: httpx.AsyncClient, unit: str, children: bool = False) -> httpx.Response:
    return await client.get(f"/api/v1/figures/{ROUND}/{unit}" + ("/children" if children else ""))


class TestUnitScope:
    async def test_a_commune_officer_sees_its_commune_and_nothing_above_or_beside(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, "08707")

        statuses = [(await _figures(officer, unit)).status_code for unit in TICH_SON + QUANG_SON]

        assert statuses == [404, 404, 200, 404, 404, 404]

    async def test_classifications_are_scoped(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, "08707")
        theirs = households["08764"]["poor"][0]

        listed = (await officer.get(f"/api/v1/classifications/{ROUND}")).json()
        other = await officer.get(f"/api/v1/classifications/{ROUND}/{theirs}")

        assert {item["commune_code"] for item in listed["items"]} == {"08707"}
        assert listed["total"] == 23
        assert other.status_code == 404

    async def test_a_province_officer_sees_small_cells(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        figures = (await _figures(as_role(Role.PROVINCE_OFFICER, "26"), "08707")).json()

        assert figures["total"]["households"]["poor"] == 3
        assert figures["disclosure"] is None


class TestRoles:
    async def test_an_analyst_reads_no_household_classification(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        analyst = as_role(Role.MINISTRY_ANALYST)

        listed = await analyst.get(f"/api/v1/classifications/{ROUND}")
        one = await analyst.get(f"/api/v1/classifications/{ROUND}/{households['08707']['poor'][0]}")

        assert (listed.status_code, one.status_code) == (403, 403)

    async def test_only_admins_and_province_officers_start_recalculations(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        request = {"round_id": str(ROUND)}

        by_analyst = await as_role(Role.MINISTRY_ANALYST).post(
            "/api/v1/recalculations", json=request
        )
        by_officer = await as_role(Role.PROVINCE_OFFICER, "26").post(
            "/api/v1/recalculations", json=request
        )

        assert (by_analyst.status_code, by_officer.status_code) == (403, 202)

    async def test_a_recalculation_request_with_an_unknown_field_is_refused_by_name(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        response = await as_role(Role.ADMIN).post(
            "/api/v1/recalculations", json={"round_id": str(ROUND), "standard_id": "VN-2027-2030"}
        )

        assert response.status_code == 422
        assert [error["loc"] for error in response.json()["errors"]] == [["body", "standard_id"]]


# Indicators whose explanation names members; one household below is deprived in each of them.
MEMBER_INDICATORS = (
    "employment",
    "dependants",
    "nutrition",
    "health_insurance",
    "adult_education",
    "school_attendance",
)


async def _classified(sessionmaker: async_sessionmaker[AsyncSession], **overrides: object) -> UUID:
    household_id, assessment_id = uuid4(), uuid4()
    event = assessment(
        assessment_id=assessment_id,
        household_id=household_id,
        household_code="08707-masked",
        commune_code="08707",
        unit_path=TICH_SON,
        **overrides,
    )
    await consumer(sessionmaker)(_message(event, str(assessment_id)))
    return household_id


@pytest.fixture
async def deprived_in_every_member_indicator(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> UUID:
    return await _classified(
        sessionmaker,
        members=[
            member(1, working_status=WorkingStatus.unemployed),
            member(2, age_years=1, stunted=True, relation_to_head=Relation.child),
            member(3, age_years=10, has_health_insurance=False, relation_to_head=Relation.child),
            member(4, age_years=20, highest_qualification=Qualification.none),
            member(5, age_years=80, working_status=WorkingStatus.retired),
        ],
    )


@pytest.fixture
async def low_income_workers(sessionmaker: async_sessionmaker[AsyncSession]) -> UUID:
    """Two adults above the income line, within the low-income worker ceiling."""
    return await _classified(sessionmaker, income_score_a=None, monthly_income_per_person=2_000_000)


class TestPersonalData:
    """Explanations name members (number, age, what about them) only for roles that may read
    personal data; the others get the indicator and how many members triggered it."""

    @pytest.mark.parametrize("indicator", MEMBER_INDICATORS)
    async def test_a_supervisor_reads_counts_not_members(
        self, deprived_in_every_member_indicator: UUID, as_role: AsRole, indicator: str
    ) -> None:
        url = f"/api/v1/classifications/{ROUND}/{deprived_in_every_member_indicator}"
        officer = as_role(Role.PROVINCE_OFFICER, "26")

        one = (await officer.get(url)).json()
        listed = (await officer.get(f"/api/v1/classifications/{ROUND}")).json()["items"]

        [from_list] = [i for i in listed if i["household_id"] == one["household_id"]]
        for read in (one, from_list):
            assert read["personal_data_masked"] is True
            [deprived] = [d for d in read["result"]["deprived"] if d["key"] == indicator]
            assert deprived["member_nos"] == []
            assert "member " not in deprived["explanation"]
            assert "age" not in deprived["explanation"]
            assert "stunted" not in deprived["explanation"]
            assert "of 5 members" in deprived["explanation"]

    @pytest.mark.parametrize("indicator", MEMBER_INDICATORS)
    async def test_the_commune_officer_reads_which_members_and_why(
        self, deprived_in_every_member_indicator: UUID, as_role: AsRole, indicator: str
    ) -> None:
        url = f"/api/v1/classifications/{ROUND}/{deprived_in_every_member_indicator}"

        read = (await as_role(Role.COMMUNE_OFFICER, "08707").get(url)).json()

        assert read["personal_data_masked"] is False
        [deprived] = [d for d in read["result"]["deprived"] if d["key"] == indicator]
        assert deprived["member_nos"]
        assert "member " in deprived["explanation"]

    async def test_household_facts_stay_explained_for_a_supervisor(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        household_id = await _classified(sessionmaker, internet_use=False, devices=[])
        url = f"/api/v1/classifications/{ROUND}/{household_id}"

        read = (await as_role(Role.PROVINCE_OFFICER, "26").get(url)).json()

        explained = {d["key"]: d["explanation"] for d in read["result"]["deprived"]}
        assert explained["telecom_use"] == "no member uses internet services"
        assert explained["information_devices"].startswith("owns none of")

    async def test_low_income_workers_are_not_named_to_a_supervisor(
        self, low_income_workers: UUID, as_role: AsRole
    ) -> None:
        url = f"/api/v1/classifications/{ROUND}/{low_income_workers}"

        masked = (await as_role(Role.PROVINCE_OFFICER, "26").get(url)).json()["result"]
        full = (await as_role(Role.COMMUNE_OFFICER, "08707").get(url)).json()["result"]

        assert full["low_income_worker_members"] == [1, 2]
        assert masked["low_income_worker_members"] is None


class TestSmallCells:
    async def test_an_analyst_gets_each_count_moved_by_its_cell_key_noise(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        """Tích Sơn's 3 poor households (all rural) are published as 3 plus the noise that their
        record keys pick, never as themselves, and the answer says it is perturbed."""
        figures = (await _figures(as_role(Role.MINISTRY_ANALYST), "08707")).json()
        poor = households["08707"]["poor"]
        key_sum = sum(record_keys()(household) for household in poor)

        expected = perturb(len(poor), key_sum, "households.poor.rural")
        assert figures["rural"]["households"]["poor"] == expected
        assert figures["total"]["households"]["poor"] == expected
        assert figures["urban"]["households"]["poor"] == 0
        assert figures["disclosure"]["method"] == "cell_key"
        assert figures["disclosure"]["max_noise"] == MAX_NOISE

    async def test_rates_are_perturbed_counts_over_the_official_population(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        figures = (await _figures(as_role(Role.MINISTRY_ANALYST), "08764")).json()
        counts = figures["total"]["households"]

        assert counts["resident"] == 32  # the official denominator is not perturbed
        assert figures["total"]["household_rates"]["poverty_rate_percent"] == round(
            100 * counts["poor"] / 32, 4
        )

    async def test_the_same_question_always_gets_the_same_answer(
        self, households: dict[str, dict[str, list[UUID]]], as_role: AsRole
    ) -> None:
        analyst = as_role(Role.MINISTRY_ANALYST)

        answers = [(await _figures(analyst, "26")).json() for _ in range(3)]

        assert answers[0] == answers[1] == answers[2]
