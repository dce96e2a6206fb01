"""What-if: a round's households under a draft standard, as a job, beside the official classes,
with the official figures untouched."""

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import setwise
from indicators.classification.engine import classify
from indicators.classification.models import HouseholdClassification
from indicators.classification.testing import assessment
from indicators.figures.models import UnitFigure
from indicators.handlers import consumer
from indicators.standard.service import get_standard
from indicators.what_if import service as what_if_service
from indicators.what_if.models import WhatIfJob
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Area,
    AssessmentRecordedV1,
    Latrine,
    PopulationRecordedV1,
    RoundOpenedV1,
    WaterSource,
)
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]
NS = UUID("00000000-0000-4000-8000-00000000ef26")
ROUND = uuid5(NS, "2026")
THREE = {"internet_use": False, "devices": [], "water_source": WaterSource.surface_water}
FOUR = THREE | {"latrine": Latrine.none}
PROFILES: list[dict[str, Any]] = [THREE, THREE, FOUR, {}, {"income_score_a": 400}]


def _message(event: Event) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject="s")
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    handle = consumer(sessionmaker)
    opened = RoundOpenedV1(
        round_id=ROUND,
        year=2026,
        kind="periodic",
        reference_date=date(2026, 11, 1),
        standard_id="VN-2022-2025",
        name="2026",
    )
    await handle(_message(opened))
    for survey in _surveys():
        await handle(_message(survey))
    population = PopulationRecordedV1(
        round_id=ROUND,
        unit_code="08707",
        unit_path=["26", "243", "08707"],
        area=Area.rural,
        resident_households=50,
        resident_persons=150,
    )
    await handle(_message(population))


def _surveys() -> list[AssessmentRecordedV1]:
    return [
        assessment(
            assessment_id=uuid5(NS, f"a{number}"),
            household_id=uuid5(NS, f"h{number}"),
            household_code=f"W-{number}",
            round_id=ROUND,
            round_year=2026,
            reference_date=date(2026, 11, 1),
            **profile,
        )
        for number, profile in enumerate(PROFILES)
    ]


async def _run_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    while (job_id := await what_if_service.claim_next(sessionmaker, lease_seconds=60)) is not None:
        await what_if_service.run(sessionmaker, job_id)


async def _official(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Any, ...]:
    async with sessionmaker() as session:
        classes = (await session.exec(select(HouseholdClassification.household_class))).all()
        figures = (await session.exec(select(UnitFigure.metric, UnitFigure.value))).all()
    return sorted(classes), sorted(figures)


@pytest.mark.usefixtures("seeded")
async def test_a_stricter_poor_score_moves_households_at_three_to_near_poor(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    before = await _official(sessionmaker)
    client = as_role(Role.PROVINCE_OFFICER, "26")
    body = {
        "round_id": str(ROUND),
        "base_standard_id": "VN-2022-2025",
        "changes": {"id": "VN-2022-2025-b40", "deprivation_score": {"poor_min_score": 40}},
    }
    response = await client.post("/api/v1/what-if", json=body)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert response.headers["location"] == f"/api/v1/what-if/{job['id']}"

    await _run_jobs(sessionmaker)

    done = (await client.get(f"/api/v1/what-if/{job['id']}")).json()
    assert done["status"] == "succeeded"
    assert (done["done"], done["total"], done["progress_percent"]) == (5, 5, 100.0)
    assert done["changed_classes"] == 2
    by_unit = {unit["unit_code"]: unit for unit in done["units"]}
    assert set(by_unit) == {"26", "243", "08707"}
    commune = by_unit["08707"]
    assert commune["official"]["households"]["poor"] == 3
    assert commune["draft"]["households"]["poor"] == 1
    assert commune["draft"]["households"]["near_poor"] == 3
    assert commune["moves"] == {"poor->near_poor": 2}
    assert commune["resident_households"] == 50
    assert by_unit["26"]["changed_households"] == 2
    assert await _official(sessionmaker) == before  # nothing official moved


DRAFTS: list[tuple[str, dict[str, Any]]] = [
    ("VN-2022-2025", {"id": "DRAFT-B40", "deprivation_score": {"poor_min_score": 40}}),
    (
        "VN-2022-2025",
        {"id": "DRAFT-LINES", "income_test": {"poverty_line": {"rural": 2_200_000}}},
    ),
    ("VN-2027-2030", {}),
    # A province's own standard classifies none of another province's households.
    ("VN-2022-2025", {"id": "DRAFT-01", "province_code": "01"}),
]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("base", "changes"), DRAFTS)
async def test_the_counts_are_the_engines_household_by_household(
    sessionmaker: async_sessionmaker[AsyncSession],
    as_role: AsRole,
    base: str,
    changes: dict[str, Any],
) -> None:
    """The job classifies set-wise (one SQL statement); the Python engine is the reference."""
    client = as_role(Role.ADMIN)
    body = {"round_id": str(ROUND), "base_standard_id": base, "changes": changes}
    response = await client.post("/api/v1/what-if", json=body)
    assert response.status_code == 202, response.text
    await _run_jobs(sessionmaker)
    done = (await client.get(f"/api/v1/what-if/{response.json()['id']}")).json()
    assert done["status"] == "succeeded", done["error"]

    draft = what_if_service.draft_standard(base, changes)
    official = get_standard("VN-2022-2025")
    drafted, moves = Counter[str](), Counter[str]()
    for survey in _surveys():
        try:
            now = classify(survey, draft).household_class.value
        except ValueError:
            now = "unclassified"
        was = classify(survey, official).household_class.value
        drafted[now] += 1
        moves[f"{was}->{now}"] += now != was
    by_unit = {unit["unit_code"]: unit for unit in done["units"]}
    for unit in ("26", "243", "08707"):
        counted = by_unit[unit]["draft"]["households"]
        assert {k: v for k, v in counted.items() if v} == dict(drafted)
        assert by_unit[unit]["moves"] == {k: v for k, v in moves.items() if v}
    assert done["changed_classes"] == sum(moves.values())


@pytest.mark.usefixtures("seeded")
async def test_the_lease_is_renewed_while_the_one_statement_runs(
    sessionmaker: async_sessionmaker[AsyncSession],
    as_role: AsRole,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A round's statement reports no progress while it runs: without renewal, one longer than
    the lease would look like a dead worker's job and be taken again."""
    body = {"round_id": str(ROUND), "base_standard_id": "VN-2027-2030", "changes": {}}
    response = await as_role(Role.ADMIN).post("/api/v1/what-if", json=body)
    job_id = UUID(response.json()["id"])
    claimed = await what_if_service.claim_next(sessionmaker, lease_seconds=60)
    assert claimed == job_id
    beats: list[datetime | None] = []
    class_moves = setwise.class_moves

    async def slow(*args: Any, **kwargs: Any) -> list[setwise.Move]:
        for _ in range(3):
            await asyncio.sleep(0.2)  # the statement, running
            async with sessionmaker() as session:
                job = await session.get(WhatIfJob, job_id)
                assert job is not None
                beats.append(job.heartbeat_at)
        return await class_moves(*args, **kwargs)

    monkeypatch.setattr(setwise, "class_moves", slow)
    await what_if_service.run(sessionmaker, job_id, renew_every=0.05)

    assert len(set(beats)) == 3  # renewed while it ran
    assert all(beat is not None for beat in beats)
    async with sessionmaker() as session:
        job = await session.get(WhatIfJob, job_id)
    assert job is not None
    assert job.status == "succeeded"


@pytest.mark.usefixtures("seeded")
async def test_the_2027_standard_as_a_draft_runs_over_the_2026_round(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    body = {"round_id": str(ROUND), "base_standard_id": "VN-2027-2030", "changes": {}}
    response = await as_role(Role.ADMIN).post("/api/v1/what-if", json=body)
    assert response.status_code == 202, response.text
    await _run_jobs(sessionmaker)
    done = (await as_role(Role.ADMIN).get(f"/api/v1/what-if/{response.json()['id']}")).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["draft_standard_id"] == "VN-2027-2030"
    assert sum(done["units"][0]["draft"]["households"].values()) == len(PROFILES)


@pytest.mark.usefixtures("seeded")
async def test_a_draft_that_does_not_validate_is_refused_naming_each_field(
    as_role: AsRole,
) -> None:
    body = {
        "round_id": str(ROUND),
        "base_standard_id": "VN-2022-2025",
        "changes": {
            "deprivation_score": {"poor_min_score": 0},
            "indicators": {"floor_area": {"number": 0}},
        },
    }
    response = await as_role(Role.ADMIN).post("/api/v1/what-if", json=body)
    assert response.status_code == 422, response.text
    locations = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert ("body", "changes", "deprivation_score", "poor_min_score") in locations
    assert any(loc[:3] == ("body", "changes", "indicators") for loc in locations)
    unknown = await as_role(Role.ADMIN).post(
        "/api/v1/what-if", json=body | {"base_standard_id": "VN-1999", "changes": {}}
    )
    assert unknown.json()["errors"][0]["loc"] == ["body", "base_standard_id"]


@pytest.mark.usefixtures("seeded")
async def test_who_may_run_and_read_a_what_if(as_role: AsRole) -> None:
    body = {"round_id": str(ROUND), "base_standard_id": "VN-2022-2025"}
    assert (
        await as_role(Role.COMMUNE_OFFICER, "08707").post("/api/v1/what-if", json=body)
    ).status_code == 403
    job = (await as_role(Role.PROVINCE_OFFICER, "26").post("/api/v1/what-if", json=body)).json()
    url = f"/api/v1/what-if/{job['id']}"
    assert (await as_role(Role.PROVINCE_OFFICER, "01").get(url)).status_code == 404
    assert (await as_role(Role.ADMIN).get(url)).status_code == 200
