"""A round's figures are read on its own map: the 1 July 2025 change reused commune codes under
other parents (08707 of district 243, province 26, in 2024; 08707 of province 25, no district,
in 2026), and each round keeps its own tree whichever round the service heard of first."""

from collections.abc import Callable
from datetime import date
from io import BytesIO
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.classification.testing import assessment, member
from indicators.figures.models import UnitFigure
from indicators.handlers import consumer
from indicators.models import metadata
from indicators.recalculation import service as recalculation_service
from indicators.recalculation.models import JobStatus
from indicators.reports import service as report_service
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller, Role
from kit.contracts import Envelope, Event
from kit.contracts.households import Area, PopulationRecordedV1
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]

OLD = UUID("00000000-0000-4000-8000-0000000002a4")  # 2024, the three-level map
NEW = UUID("00000000-0000-4000-8000-0000000002a6")  # 2026, the two-level map
PATHS = {
    OLD: [["26", "243", "08707"], ["26", "243", "08710"]],
    NEW: [["25", "08707"], ["25", "08710"]],
}
YEARS = {OLD: (2024, date(2024, 10, 1)), NEW: (2026, date(2026, 1, 1))}
HOUSEHOLDS = {(OLD, "08707"): 7, (OLD, "08710"): 4, (NEW, "08707"): 12, (NEW, "08710"): 9}


def _message(event: Event, subject: str) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def _events() -> list[IncomingMessage]:
    """The 2024 round's surveys and populations first (its tree is learned first), then the
    2026 round's on the same commune codes."""
    messages = []
    for round_id in (OLD, NEW):
        year, reference_date = YEARS[round_id]
        for path in PATHS[round_id]:
            commune = path[-1]
            for number in range(HOUSEHOLDS[(round_id, commune)]):
                assessment_id = uuid4()
                event = assessment(
                    assessment_id=assessment_id,
                    household_id=uuid4(),
                    household_code=f"{year}-{commune}-{number}",
                    round_id=round_id,
                    round_year=year,
                    reference_date=reference_date,
                    commune_code=commune,
                    unit_path=path,
                    area=Area.rural if number % 3 else Area.urban,
                    income_score_a=[90, 150, 200, 260][number % 4],
                    members=[member(1), member(2, age_years=[10, 40, 70][number % 3])],
                )
                messages.append(_message(event, str(assessment_id)))
            population = PopulationRecordedV1(
                round_id=round_id,
                unit_code=commune,
                unit_path=path,
                area=Area.rural,
                resident_households=50,
                resident_persons=200,
            )
            messages.append(_message(population, f"population:{round_id}:{commune}"))
    return messages


async def _feed(
    sessionmaker: async_sessionmaker[AsyncSession], events: list[IncomingMessage] | None = None
) -> list[IncomingMessage]:
    events = _events() if events is None else events
    handle = consumer(sessionmaker)
    for incoming in events:
        await handle(incoming)
    return events


async def _json(client: httpx.AsyncClient, path: str) -> Any:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _surveyed(figures: dict[str, Any]) -> int:
    return int(figures["total"]["households"]["surveyed"])


class TestEachRoundOnItsMap:
    async def test_children_are_those_of_the_rounds_map(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _feed(sessionmaker)
        admin = as_role(Role.ADMIN)

        def codes(answer: Any) -> list[str]:
            return [item["unit_code"] for item in answer["items"]]

        assert codes(await _json(admin, f"/api/v1/figures/{OLD}/26/children")) == ["243"]
        assert codes(await _json(admin, f"/api/v1/figures/{OLD}/243/children")) == [
            "08707",
            "08710",
        ]
        assert codes(await _json(admin, f"/api/v1/figures/{NEW}/25/children")) == [
            "08707",
            "08710",
        ]
        assert (await admin.get(f"/api/v1/figures/{NEW}/26")).status_code == 404
        assert (await admin.get(f"/api/v1/figures/{OLD}/25")).status_code == 404

    async def test_a_commune_reads_its_rounds_figures_in_its_rounds_province(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _feed(sessionmaker)
        officer_25, officer_26 = (
            as_role(Role.PROVINCE_OFFICER, "25"),
            as_role(Role.PROVINCE_OFFICER, "26"),
        )

        new = await _json(officer_25, f"/api/v1/figures/{NEW}/08707")
        old = await _json(officer_26, f"/api/v1/figures/{OLD}/08707")
        province = await _json(officer_25, f"/api/v1/figures/{NEW}/25")
        listed = await _json(officer_25, f"/api/v1/figures/{NEW}/25/children")

        assert (new["level"], _surveyed(new)) == ("commune", HOUSEHOLDS[(NEW, "08707")])
        assert (old["level"], _surveyed(old)) == ("commune", HOUSEHOLDS[(OLD, "08707")])
        assert _surveyed(province) == HOUSEHOLDS[(NEW, "08707")] + HOUSEHOLDS[(NEW, "08710")]
        assert [_surveyed(item) for item in listed["items"]] == [12, 9]
        # The same code is another province's commune in the other round: outside the scope.
        assert (await officer_25.get(f"/api/v1/figures/{OLD}/08707")).status_code == 404
        assert (await officer_26.get(f"/api/v1/figures/{NEW}/08707")).status_code == 404
        assert (await officer_25.get(f"/api/v1/figures/{OLD}/26/children")).status_code == 404

    @pytest.mark.parametrize(("round_id", "top"), [(OLD, "26"), (NEW, "25")])
    async def test_an_analysts_perturbed_figures_add_up_on_each_map(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        as_role: AsRole,
        round_id: UUID,
        top: str,
    ) -> None:
        await _feed(sessionmaker)
        analyst = as_role(Role.MINISTRY_ANALYST)

        province = await _json(analyst, f"/api/v1/figures/{round_id}/{top}")
        communes = [
            await _json(analyst, f"/api/v1/figures/{round_id}/{path[-1]}")
            for path in PATHS[round_id]
        ]
        parent = f"/api/v1/figures/{round_id}/{PATHS[round_id][0][-2]}/children"
        listed = (await _json(analyst, parent))["items"]

        assert province["disclosure"] is not None
        assert listed == communes  # a commune alone and in its parent's children, the same
        for head in ("households", "persons"):
            for kind in ("surveyed", "poor", "near_poor"):
                assert province["total"][head][kind] == sum(
                    commune["total"][head][kind] for commune in communes
                ), (head, kind)

    async def test_a_province_report_of_the_new_map_has_its_communes(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _feed(sessionmaker)
        officer = as_role(Role.PROVINCE_OFFICER, "25")

        created = await officer.post(
            "/api/v1/reports/jobs", json={"round_id": str(NEW), "unit_code": "25"}
        )
        assert created.status_code == 202, created.text
        assert await report_service.run_next(sessionmaker, lease_seconds=60)
        status = await _json(officer, f"/api/v1/reports/jobs/{created.json()['id']}")
        assert status["status"] == "succeeded", status
        download = await officer.get(status["download"])
        sheet = load_workbook(BytesIO(download.content)).worksheets[0]

        codes = [row[1] for row in sheet.iter_rows(values_only=True)]
        assert "08707" in codes
        assert "08710" in codes


def _raise_score_cutoffs(standard: Standard) -> Standard:
    income_test = standard.income_test.model_copy(
        update={
            "score_cutoff": standard.income_test.score_cutoff.model_copy(
                update={"rural": 300, "urban": 300}
            )
        }
    )
    return standard.model_copy(update={"income_test": income_test})


async def _counters(
    sessionmaker: async_sessionmaker[AsyncSession], round_id: UUID
) -> dict[tuple[str, str], tuple[int, int]]:
    async with sessionmaker() as session:
        statement = select(UnitFigure).where(UnitFigure.round_id == round_id)
        return {
            (row.unit_code, row.metric): (row.value, row.key_sum)
            for row in (await session.exec(statement)).all()
            if row.value or row.key_sum
        }


@pytest.mark.parametrize(("round_id", "scope"), [(NEW, "25"), (OLD, "243")])
async def test_a_scoped_recalculation_redoes_its_rounds_subtree_and_keeps_the_other_round(
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    round_id: UUID,
    scope: str,
) -> None:
    events = await _feed(sessionmaker)
    other = OLD if round_id == NEW else NEW
    before = {r: await _counters(sessionmaker, r) for r in (OLD, NEW)}
    corrected = _raise_score_cutoffs(get_standard("VN-2022-2025"))
    monkeypatch.setattr(classification_service, "get_standard", lambda _: corrected)
    monkeypatch.setattr(recalculation_service, "get_standard", lambda _: corrected)

    caller = Caller(subject="recalculating", role=Role.ADMIN, unit_scope=(scope,))
    async with sessionmaker() as session, session.begin():
        requested = await recalculation_service.request(session, round_id, caller)
    claimed = await recalculation_service.claim_next(sessionmaker, lease_seconds=60)
    assert claimed is not None
    assert claimed.id == requested.id
    await recalculation_service.run(sessionmaker, claimed.id, batch_size=5)
    async with sessionmaker() as session:
        job = await recalculation_service.get(session, claimed.id)
    after = {r: await _counters(sessionmaker, r) for r in (OLD, NEW)}
    async with sessionmaker.kw["bind"].begin() as connection:  # the same events from scratch
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    await _feed(sessionmaker, events)
    fresh = await _counters(sessionmaker, round_id)

    assert job.status == JobStatus.succeeded
    assert after[round_id] != before[round_id]  # there was work to do
    assert after[round_id] == fresh  # every unit of the round's subtree, its province too
    assert after[other] == before[other]
