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
from kit.contracts.households import Area, PopulationRecordedV1
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
