"""A national ID recorded in two households' surveys of a round: the survey is recorded and needs
review, and supervisors covering both households decide which household keeps the person.

"Ours" is Quang Sơn (08764, district 246), "theirs" Hội Hợp (08713, district 243), both in
Vĩnh Phúc (26).
"""

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.config import Settings
from households.conflict import service as conflict_service
from households.conflict.models import NationalIdConflict
from households.household.models import Assessment, NationalIdClaim
from households.migrate import migrate
from kit import testing
from kit.auth import Role

from .test_assessments import SPOUSE_ID, assessment_json, count, family, register, staged

OURS, THEIRS = "08764", "08713"


BOTH_DATABASES = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.infra)], indirect=True
)


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, seeded_database: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """SQLite, or a migrated PostgreSQL database for the tests marked `BOTH_DATABASES` (claims
    rely on `INSERT ... ON CONFLICT DO NOTHING` and on what a statement sees of other writers)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        copy = tmp_path / "households.db"
        shutil.copyfile(seeded_database, copy)
        yield f"sqlite+aiosqlite:///{copy}"
        return
    testing.require_infra()
    url = await testing.create_database("households_conflicts")
    try:
        await migrate(Settings(DATABASE_URL=url, LOG_JSON=False, LOG_LEVEL="WARNING"))
        yield url
    finally:
        await testing.drop_database(url)


@pytest.fixture
async def round_id(client: httpx.AsyncClient) -> str:
    round_in = {"year": 2024, "reference_date": "2024-11-01", "standard_id": "VN-2022-2025"}
    return str((await client.post("/api/v1/rounds", json=round_in)).json()["id"])


def url_of(household: dict[str, Any], round_id: str) -> str:
    return f"/api/v1/households/{household['id']}/assessments/{round_id}"


def with_spouse_id_only() -> dict[str, Any]:
    """A survey whose only national ID is the spouse's of `family()`, as the third member."""
    members = family()
    members[0]["national_id"] = None
    members[1]["national_id"] = None
    members[2]["national_id"] = SPOUSE_ID
    return assessment_json(members=members)


@pytest.fixture
async def clash(client: httpx.AsyncClient, round_id: str, as_role: Any) -> dict[str, Any]:
    """Our household recorded the spouse first; an enumerator of theirs records the same ID."""
    ours = await register(client, commune_code=OURS)
    theirs = await register(client, commune_code=THEIRS)
    assert (await client.put(url_of(ours, round_id), json=assessment_json())).status_code == 201
    enumerator = as_role(Role.ENUMERATOR, THEIRS)
    response = await enumerator.put(url_of(theirs, round_id), json=with_spouse_id_only())
    return {"ours": ours, "theirs": theirs, "response": response, "enumerator": enumerator}


class TestRecording:
    async def test_the_survey_is_recorded_and_needs_review_naming_only_its_own_member(
        self, clash: dict[str, Any], sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        response = clash["response"]

        assert response.status_code == 201, response.text
        assert response.json()["review"]["status"] == "needs_review"
        [reason] = response.json()["review"]["reasons"]
        assert reason["loc"] == ["members", 2, "national_id"]
        for outside in (OURS, clash["ours"]["id"], clash["ours"]["household_code"]):
            assert outside not in response.text
        assert len(await staged(sessionmaker)) == 2  # counted as any survey
        assert await count(sessionmaker, NationalIdConflict) == 1

    async def test_reading_the_survey_again_shows_the_review(
        self, clash: dict[str, Any], round_id: str
    ) -> None:
        read = await clash["enumerator"].get(url_of(clash["theirs"], round_id))
        listed = await clash["enumerator"].get("/api/v1/assessments", params={"round_id": round_id})

        assert read.json()["review"] == clash["response"].json()["review"]
        assert [item["review"] for item in listed.json()["items"]] == [read.json()["review"]]

    async def test_a_survey_without_a_clash_needs_no_review(
        self, client: httpx.AsyncClient, round_id: str
    ) -> None:
        household = await register(client)

        response = await client.put(url_of(household, round_id), json=assessment_json())

        assert response.json()["review"] is None

    @BOTH_DATABASES
    async def test_the_same_id_twice_in_one_batch_opens_one_conflict(
        self,
        client: httpx.AsyncClient,
        round_id: str,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """Two writers claiming at once: the unique key keeps one, the other opens a conflict."""
        first, second = await register(client), await register(client, commune_code=THEIRS)
        for household in (first, second):
            members = family()
            members[0]["national_id"] = None
            members[1]["national_id"] = None
            await client.put(url_of(household, round_id), json=assessment_json(members=members))
        async with sessionmaker() as session, session.begin():
            surveys = (await session.exec(select(Assessment))).all()
            await conflict_service.claim_national_ids(
                session,
                [
                    {"round_id": s.round_id, "national_id": SPOUSE_ID, "assessment_id": s.id}
                    for s in surveys
                ],
            )

        [claim] = await _all(sessionmaker, NationalIdClaim)
        [conflict] = await _all(sessionmaker, NationalIdConflict)
        assert conflict.holder_id == claim.assessment_id
        assert {conflict.holder_id, conflict.claimant_id} == {s.id for s in surveys}


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.infra)], indirect=True
)
async def test_a_writer_losing_the_race_for_an_id_opens_a_conflict(
    client: httpx.AsyncClient, round_id: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Both writers pass any check before either commits: the second waits on the unique key,
    finds the ID held once the first commits, and opens a conflict instead of losing it."""
    first, second = await register(client), await register(client, commune_code=THEIRS)
    for household in (first, second):
        members = family()
        members[0]["national_id"] = None
        members[1]["national_id"] = None
        await client.put(url_of(household, round_id), json=assessment_json(members=members))
    async with sessionmaker() as session:
        surveys = (await session.exec(select(Assessment))).all()

    def claim(survey: Assessment) -> list[dict[str, Any]]:
        return [{"round_id": survey.round_id, "national_id": SPOUSE_ID, "assessment_id": survey.id}]

    async with sessionmaker() as winner, sessionmaker() as loser:
        await conflict_service.claim_national_ids(winner, claim(surveys[0]))
        waiting = asyncio.create_task(conflict_service.claim_national_ids(loser, claim(surveys[1])))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked on the winner's uncommitted claim
        await winner.commit()
        await waiting
        await loser.commit()

    [held] = await _all(sessionmaker, NationalIdClaim)
    [conflict] = await _all(sessionmaker, NationalIdConflict)
    assert held.assessment_id == surveys[0].id
    assert (conflict.holder_id, conflict.claimant_id) == (surveys[0].id, surveys[1].id)


class TestListing:
    async def test_supervisors_covering_both_households_see_it(
        self, clash: dict[str, Any], as_role: Any
    ) -> None:
        listed = (
            await as_role(Role.PROVINCE_OFFICER, "26").get("/api/v1/assessments/conflicts")
        ).json()

        [conflict] = listed["items"]
        assert conflict["holder"]["household_id"] == clash["ours"]["id"]
        assert conflict["holder"]["member_no"] == 2
        assert conflict["claimant"]["household_id"] == clash["theirs"]["id"]
        assert conflict["claimant"]["member_no"] == 3
        assert conflict["resolved_at"] is None

    @pytest.mark.parametrize("scope", [OURS, THEIRS, "01"])
    async def test_an_officer_covering_one_household_or_none_does_not(
        self, clash: dict[str, Any], as_role: Any, scope: str
    ) -> None:
        officer = as_role(Role.COMMUNE_OFFICER, scope)

        listed = (await officer.get("/api/v1/assessments/conflicts")).json()

        assert (listed["items"], listed["total"]) == ([], 0)

    async def test_enumerators_and_analysts_may_not(self, as_role: Any) -> None:
        for caller in (as_role(Role.ENUMERATOR, THEIRS), as_role(Role.MINISTRY_ANALYST)):
            assert (await caller.get("/api/v1/assessments/conflicts")).status_code == 403

    async def test_a_household_moving_takes_its_conflicts_to_its_new_commune(
        self, clash: dict[str, Any], client: httpx.AsyncClient, as_role: Any
    ) -> None:
        moved = await client.patch(
            f"/api/v1/households/{clash['theirs']['id']}",
            json={"commune_code": OURS},
            headers={"If-Match": '"1"'},
        )
        assert moved.status_code == 200, moved.text

        ours = await as_role(Role.COMMUNE_OFFICER, OURS).get("/api/v1/assessments/conflicts")
        theirs = await as_role(Role.COMMUNE_OFFICER, THEIRS).get("/api/v1/assessments/conflicts")

        assert [c["claimant"]["commune_code"] for c in ours.json()["items"]] == [OURS]
        assert theirs.json()["total"] == 0


class TestResolution:
    async def _resolve(self, as_role: Any, kept: dict[str, Any]) -> httpx.Response:
        officer = as_role(Role.PROVINCE_OFFICER, "26", subject="province-1")
        [conflict] = (await officer.get("/api/v1/assessments/conflicts")).json()["items"]
        return await officer.post(
            f"/api/v1/assessments/conflicts/{conflict['id']}/resolution",
            json={"kept_household_id": kept["id"]},
        )

    @BOTH_DATABASES
    async def test_the_household_not_kept_must_correct_its_survey(
        self, clash: dict[str, Any], client: httpx.AsyncClient, round_id: str, as_role: Any
    ) -> None:
        resolved = await self._resolve(as_role, clash["theirs"])

        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["kept_household_id"] == clash["theirs"]["id"]
        assert resolved.json()["resolved_by"] == "province-1"
        ours = (await client.get(url_of(clash["ours"], round_id))).json()
        theirs = (await client.get(url_of(clash["theirs"], round_id))).json()
        assert theirs["review"] is None
        [reason] = ours["review"]["reasons"]
        assert reason["loc"] == ["members", 1, "national_id"]
        assert "correct" in reason["msg"]

        members = family()
        members[1]["national_id"] = None
        corrected = await client.put(
            url_of(clash["ours"], round_id),
            json=assessment_json(members=members),
            headers={"If-Match": '"1"'},
        )

        assert corrected.json()["review"] is None
        left = (
            await as_role(Role.PROVINCE_OFFICER, "26").get("/api/v1/assessments/conflicts")
        ).json()
        assert left["total"] == 0

    async def test_the_kept_household_holds_the_id_afterwards(
        self,
        clash: dict[str, Any],
        round_id: str,
        as_role: Any,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        await self._resolve(as_role, clash["theirs"])

        async with sessionmaker() as session:
            claim = (
                await session.exec(
                    select(NationalIdClaim).where(NationalIdClaim.national_id == SPOUSE_ID)
                )
            ).one()
            holder = await session.get(Assessment, claim.assessment_id)
        assert holder is not None
        assert str(holder.household_id) == clash["theirs"]["id"]

    async def test_each_household_s_log_records_the_decision_naming_only_itself(
        self, clash: dict[str, Any], as_role: Any
    ) -> None:
        await self._resolve(as_role, clash["theirs"])

        logs = {}
        for side, commune in (("ours", OURS), ("theirs", THEIRS)):
            officer = as_role(Role.COMMUNE_OFFICER, commune)
            response = await officer.get("/api/v1/audit", params={"actor": "province-1"})
            logs[side] = response

        [ours] = logs["ours"].json()["items"]
        [theirs] = logs["theirs"].json()["items"]
        assert (ours["action"], ours["household_id"]) == ("conflict.resolved", clash["ours"]["id"])
        assert (ours["changes"]["keeps_the_person"], theirs["changes"]["keeps_the_person"]) == (
            False,
            True,
        )
        assert clash["theirs"]["id"] not in logs["ours"].text
        assert clash["ours"]["id"] not in logs["theirs"].text

    async def test_keeping_a_household_outside_the_conflict_is_refused_by_name(
        self, clash: dict[str, Any], client: httpx.AsyncClient, as_role: Any
    ) -> None:
        stranger = await register(client)

        response = await self._resolve(as_role, stranger)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "kept_household_id"]

    async def test_an_officer_covering_one_household_cannot_resolve_it(
        self, clash: dict[str, Any], as_role: Any
    ) -> None:
        [conflict] = (await as_role(Role.ADMIN).get("/api/v1/assessments/conflicts")).json()[
            "items"
        ]

        response = await as_role(Role.COMMUNE_OFFICER, THEIRS).post(
            f"/api/v1/assessments/conflicts/{conflict['id']}/resolution",
            json={"kept_household_id": clash["theirs"]["id"]},
        )

        assert response.status_code == 404


class TestCorrections:
    async def test_a_claimant_dropping_the_id_withdraws_the_conflict(
        self, clash: dict[str, Any], round_id: str, as_role: Any
    ) -> None:
        members = family()
        for member in members:
            member["national_id"] = None

        replaced = await clash["enumerator"].put(
            url_of(clash["theirs"], round_id),
            json=assessment_json(members=members),
            headers={"If-Match": '"1"'},
        )

        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["review"] is None
        assert (await as_role(Role.ADMIN).get("/api/v1/assessments/conflicts")).json()["total"] == 0

    async def test_a_claimant_replacing_its_survey_with_the_id_keeps_the_same_conflict(
        self, clash: dict[str, Any], round_id: str, as_role: Any
    ) -> None:
        before = (await as_role(Role.ADMIN).get("/api/v1/assessments/conflicts")).json()
        survey = with_spouse_id_only()
        survey["internet_use"] = False

        replaced = await clash["enumerator"].put(
            url_of(clash["theirs"], round_id), json=survey, headers={"If-Match": '"1"'}
        )

        after = (await as_role(Role.ADMIN).get("/api/v1/assessments/conflicts")).json()
        assert replaced.json()["review"]["status"] == "needs_review"
        assert after["items"] == before["items"]

    @BOTH_DATABASES
    async def test_a_holder_dropping_the_id_passes_it_to_the_claimant(
        self,
        clash: dict[str, Any],
        client: httpx.AsyncClient,
        round_id: str,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        members = family()
        members[1]["national_id"] = None

        await client.put(
            url_of(clash["ours"], round_id),
            json=assessment_json(members=members),
            headers={"If-Match": '"1"'},
        )

        theirs = (await client.get(url_of(clash["theirs"], round_id))).json()
        assert theirs["review"] is None
        assert await count(sessionmaker, NationalIdConflict) == 0
        [claim] = [
            c for c in await _all(sessionmaker, NationalIdClaim) if c.national_id == SPOUSE_ID
        ]
        assert str(claim.assessment_id) == theirs["id"]


async def _all(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessionmaker() as session:
        return list((await session.exec(select(model))).all())
