"""Who sees which figures and classifications: unit scope, roles, and small-cell suppression."""

from collections.abc import Callable
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment, member
from indicators.figures.disclosure import withheld, withheld_among_siblings
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
) -> dict[str, UUID]:
    """Households in the commune at the end of `path`; their ids by class."""
    handle = consumer(sessionmaker)
    ids = {}
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
        ids["poor" if is_poor else "not_poor"] = household_id
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
async def households(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, UUID]]:
    """Tích Sơn: 3 poor of 23 (a small cell); Quang Sơn: 6 poor of 16."""
    return {
        "08707": await _survey(sessionmaker, TICH_SON, poor=3, not_poor=20),
        "08764": await _survey(sessionmaker, QUANG_SON, poor=6, not_poor=10),
    }


async def _figures(client: httpx.AsyncClient, unit: str, children: bool = False) -> httpx.Response:
    return await client.get(f"/api/v1/figures/{ROUND}/{unit}" + ("/children" if children else ""))


class TestUnitScope:
    async def test_a_commune_officer_sees_its_commune_and_nothing_above_or_beside(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, "08707")

        statuses = [(await _figures(officer, unit)).status_code for unit in TICH_SON + QUANG_SON]

        assert statuses == [404, 404, 200, 404, 404, 404]

    async def test_classifications_are_scoped(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, "08707")
        theirs = households["08764"]["poor"]

        listed = (await officer.get(f"/api/v1/classifications/{ROUND}")).json()
        other = await officer.get(f"/api/v1/classifications/{ROUND}/{theirs}")

        assert {item["commune_code"] for item in listed["items"]} == {"08707"}
        assert listed["total"] == 23
        assert other.status_code == 404

    async def test_a_province_officer_sees_small_cells(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        figures = (await _figures(as_role(Role.PROVINCE_OFFICER, "26"), "08707")).json()

        assert figures["total"]["households"]["poor"] == 3
        assert figures["withheld_below"] is None


class TestRoles:
    async def test_an_analyst_reads_no_household_classification(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        analyst = as_role(Role.MINISTRY_ANALYST)

        listed = await analyst.get(f"/api/v1/classifications/{ROUND}")
        one = await analyst.get(f"/api/v1/classifications/{ROUND}/{households['08707']['poor']}")

        assert (listed.status_code, one.status_code) == (403, 403)

    async def test_only_admins_and_province_officers_start_recalculations(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        request = {"round_id": str(ROUND)}

        by_analyst = await as_role(Role.MINISTRY_ANALYST).post(
            "/api/v1/recalculations", json=request
        )
        by_officer = await as_role(Role.PROVINCE_OFFICER, "26").post(
            "/api/v1/recalculations", json=request
        )

        assert (by_analyst.status_code, by_officer.status_code) == (403, 202)


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
    async def test_an_analyst_sees_neither_a_small_count_nor_what_would_reveal_it(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        figures = (await _figures(as_role(Role.MINISTRY_ANALYST), "08707")).json()
        counts = figures["total"]["households"]

        assert figures["withheld_below"] == 5
        assert counts["poor"] is None
        assert counts["surveyed"] == 23
        # At least two classes are withheld, so the surveyed total does not give the poor away.
        assert sum(counts[c] is None for c in ("poor", "near_poor", "average", "not_poor")) >= 2
        assert figures["total"]["household_rates"]["poverty_rate_percent"] is None
        assert figures["total"]["household_rates"]["multidimensional_poverty_rate_percent"] is None
        assert figures["rural"]["households"]["poor"] is None
        assert figures["deprivation"]["poor"]["households"] is None
        shares = [i["share_percent"] for i in figures["deprivation"]["poor"]["indicators"]]
        assert set(shares) == {None}

    async def test_a_count_at_the_threshold_is_shown(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        figures = (await _figures(as_role(Role.MINISTRY_ANALYST), "08764")).json()

        assert figures["total"]["households"]["poor"] == 6
        assert figures["total"]["household_rates"]["poverty_rate_percent"] == 18.75

    async def test_a_sibling_shown_beside_a_withheld_one_is_withheld_too(
        self, households: dict[str, dict[str, UUID]], as_role: AsRole
    ) -> None:
        """Province minus the shown district would otherwise give the withheld district away."""
        listed = (await _figures(as_role(Role.MINISTRY_ANALYST), "26", children=True)).json()

        poor = {item["unit_code"]: item["total"]["households"]["poor"] for item in listed["items"]}
        assert poor == {"243": None, "246": None}


class TestWithheld:
    """The suppression rules on their own, at the threshold's edges (k = 5)."""

    def test_a_count_below_k_is_withheld_and_one_at_k_or_zero_is_not(self) -> None:
        counters = {
            "households.surveyed": 30,
            "households.poor": 4,
            "households.near_poor": 5,
            "households.average": 0,
            "households.not_poor": 21,
        }

        hidden = withheld(counters, 5)

        assert "households.poor" in hidden
        assert "households.average" not in hidden
        # near-poor (5, the smallest positive visible class) goes with it, so the sum hides both
        assert "households.near_poor" in hidden
        assert "households.not_poor" not in hidden

    def test_urban_and_rural_are_withheld_together(self) -> None:
        counters = {
            "households.poor": 10,
            "households.poor.urban": 2,
            "households.poor.rural": 8,
            "households.surveyed.urban": 40,
            "households.not_poor.urban": 38,
        }

        hidden = withheld(counters, 5)

        assert {"households.poor.urban", "households.poor.rural"} <= hidden

    def test_population_counts_are_never_withheld(self) -> None:
        counters = {"households.resident": 3, "persons.resident": 4, "communes_with_population": 1}

        assert withheld(counters, 5) == set()

    def test_siblings_withhold_the_smallest_partner(self) -> None:
        siblings = [
            {"households.poor": 3, "households.not_poor": 40, "households.surveyed": 43},
            {"households.poor": 9, "households.not_poor": 30, "households.surveyed": 39},
            {"households.poor": 7, "households.not_poor": 30, "households.surveyed": 37},
        ]

        hidden = withheld_among_siblings(siblings, 5)

        assert "households.poor" in hidden[0]
        for key in set().union(*hidden):
            assert sum(key in keys for keys in hidden) != 1, key
        assert hidden == withheld_among_siblings(siblings, 5)
