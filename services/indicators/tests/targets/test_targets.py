"""Targets: the seed's (0.99 % poor at the end of 2022, 0.7 % targeted for 2023), set through the
API, checked against a commune's figures as they change, announced through the outbox."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid5

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.db import outbox
from indicators.handlers import consumer
from indicators.targets import service as targets_service
from indicators.targets.models import Target
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Area,
    Latrine,
    PopulationRecordedV1,
    ReviewState,
    ReviewStepChangedV1,
    RoundOpenedV1,
    WaterSource,
)
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]
NS = UUID("00000000-0000-4000-8000-00000000da26")
ROUND_2023 = uuid5(NS, "2023")
PATH = ["26", "243", "08707"]
SEED = {
    "unit_code": "08707",
    "kind": "below_by",
    "value_percent": 0.7,
    "baseline_year": 2022,
    "baseline_percent": 0.99,
    "target_year": 2023,
}
POOR = {
    "internet_use": False,
    "devices": [],
    "water_source": WaterSource.surface_water,
    "latrine": Latrine.none,
}


def _message(event: Event, sequence: int = 1) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=sequence, subject="s")
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


async def _feed(sessionmaker: async_sessionmaker[AsyncSession], *events: Event) -> None:
    handle = consumer(sessionmaker)
    for event in events:
        await handle(_message(event, getattr(event, "version", 1)))


async def _round_with_poor(
    sessionmaker: async_sessionmaker[AsyncSession], poor: int, resident: int
) -> None:
    """2023: `poor` poor households of `resident` resident households in 08707."""
    opened = RoundOpenedV1(
        round_id=ROUND_2023,
        year=2023,
        kind="periodic",
        reference_date=date(2023, 11, 1),
        standard_id="VN-2022-2025",
        name="2023",
    )
    surveys = [
        assessment(
            assessment_id=uuid5(NS, f"a{n}"),
            household_id=uuid5(NS, f"h{n}"),
            household_code=f"T-{n}",
            round_id=ROUND_2023,
            round_year=2023,
            reference_date=date(2023, 11, 1),
            **POOR,
        )
        for n in range(poor)
    ]
    await _feed(sessionmaker, opened, *surveys)
    await _population(sessionmaker, resident, sequence=1)


async def _population(
    sessionmaker: async_sessionmaker[AsyncSession], resident: int, *, sequence: int
) -> None:
    population = PopulationRecordedV1(
        round_id=ROUND_2023,
        unit_code=PATH[-1],
        unit_path=PATH,
        area=Area.rural,
        resident_households=resident,
        resident_persons=resident * 3,
    )
    handle = consumer(sessionmaker)
    await handle(_message(population, sequence))


async def _approve(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    step = ReviewStepChangedV1(
        round_id=ROUND_2023,
        commune_code=PATH[-1],
        province_code=PATH[0],
        unit_path=PATH,
        from_state=ReviewState.posted,
        to_state=ReviewState.approved,
        actor="user:chairman",
        at=datetime(2023, 12, 10, tzinfo=UTC),
        version=4,
    )
    await _feed(sessionmaker, step)


async def _check(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """One periodic check; the target events it staged."""
    async with sessionmaker() as session, session.begin():
        staged = await targets_service.check_targets(session)
    async with sessionmaker() as session:
        rows = (
            await session.exec(
                select(outbox.c.envelope)
                .where(outbox.c.type == "indicators.target.progress_changed.v1")
                .order_by(outbox.c.position)
            )
        ).all()
    return [envelope["data"] for envelope in rows[len(rows) - staged :]] if staged else []


async def test_the_trajectory_runs_from_the_baseline_to_the_target() -> None:
    target = Target(
        unit_code="26",
        province_code="26",
        unit_path=["26"],
        measure="poverty_rate",
        kind="below_by",
        value_percent=1.0,
        baseline_year=2022,
        baseline_percent=0.99,
        target_year=2025,
        created_by="t",
    )
    points = targets_service.trajectory(target)
    assert [(p.year, p.expected_percent) for p in points] == [
        (2022, Fraction(99, 100)),
        (2023, Fraction(99, 100) + Fraction(1, 100) / 3),
        (2024, Fraction(99, 100) + Fraction(2, 100) / 3),
        (2025, Fraction(1)),
    ]


async def test_a_reduction_per_year_ends_at_the_baseline_less_the_points() -> None:
    target = Target(
        unit_code="26",
        province_code="26",
        unit_path=["26"],
        measure="poverty_rate",
        kind="reduction_per_year",
        value_percent=0.3,
        baseline_year=2022,
        baseline_percent=1.71,
        target_year=2025,
        created_by="t",
    )
    assert targets_service.target_percent(target) == Fraction(81, 100)


async def test_the_seed_target_goes_off_track_then_is_reached_when_approved(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _round_with_poor(sessionmaker, poor=10, resident=1000)  # 1.0 % in 2023
    officer = as_role(Role.PROVINCE_OFFICER, "26")
    created = await officer.post("/api/v1/targets", json=SEED)
    assert created.status_code == 201, created.text
    target = created.json()
    assert target["status"] == "off_track"  # recorded at creation, not announced
    assert target["latest_provisional"]["rate_percent"] == pytest.approx(1.0)
    assert target["latest_approved"] is None
    assert await _check(sessionmaker) == []

    await _population(sessionmaker, 2000, sequence=2)  # 0.5 %: on track, not yet approved
    assert await _check(sessionmaker) == []
    got = (await officer.get(f"/api/v1/targets/{target['id']}")).json()
    assert got["status"] == "on_track"

    await _approve(sessionmaker)
    [event] = await _check(sessionmaker)
    assert event["status"] == "reached"
    assert event["previous_status"] == "on_track"
    assert event["rate_percent"] == pytest.approx(0.5)
    assert event["figures_status"] == "approved"
    assert await _check(sessionmaker) == []  # announced once

    await _population(sessionmaker, 1000, sequence=3)  # back to 1.0 %
    [off] = await _check(sessionmaker)
    assert (off["status"], off["previous_status"]) == ("off_track", "reached")


async def test_two_checks_at_once_announce_a_change_once(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _round_with_poor(sessionmaker, poor=5, resident=1000)
    officer = as_role(Role.PROVINCE_OFFICER, "26")
    assert (await officer.post("/api/v1/targets", json=SEED)).status_code == 201
    await _population(sessionmaker, 500, sequence=2)  # 1.0 %: off track
    async with sessionmaker() as first, sessionmaker() as second:
        async with first.begin():
            assert await targets_service.check_targets(first) == 1
        # The second read the target before the first's change: its update finds none.
        async with second.begin():
            stale = (await second.exec(select(Target))).one()
            stale.status = "on_track"
            second.expunge(stale)
            assert await targets_service.check_targets(second) == 0


async def test_without_a_baseline_the_figures_of_the_baseline_year_are_taken(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _round_with_poor(sessionmaker, poor=10, resident=1000)
    body = SEED | {"baseline_year": 2023, "target_year": 2025, "baseline_percent": None}
    created = await as_role(Role.ADMIN).post("/api/v1/targets", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["baseline_percent"] == pytest.approx(1.0)
    missing = SEED | {"baseline_percent": None}  # no 2022 round
    refused = await as_role(Role.ADMIN).post("/api/v1/targets", json=missing)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "baseline_percent"]


async def test_who_may_set_and_see_targets(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _round_with_poor(sessionmaker, poor=10, resident=1000)
    elsewhere = await as_role(Role.PROVINCE_OFFICER, "01").post("/api/v1/targets", json=SEED)
    assert elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["loc"] == ["body", "unit_code"]
    commune = await as_role(Role.COMMUNE_OFFICER, "08707").post("/api/v1/targets", json=SEED)
    assert commune.status_code == 403
    created = (await as_role(Role.PROVINCE_OFFICER, "26").post("/api/v1/targets", json=SEED)).json()
    url = f"/api/v1/targets/{created['id']}"
    assert (await as_role(Role.PROVINCE_OFFICER, "01").get(url)).status_code == 404
    analyst = (await as_role(Role.MINISTRY_ANALYST).get(url)).json()
    assert analyst["disclosure"]["method"] == "cell_key"
    listed = (await as_role(Role.COMMUNE_OFFICER, "08707").get("/api/v1/targets")).json()
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    assert (await as_role(Role.PROVINCE_OFFICER, "01").delete(url)).status_code == 404
    assert (await as_role(Role.PROVINCE_OFFICER, "26").delete(url)).status_code == 204
    async with sessionmaker() as session:
        assert (
            await session.exec(select(Target).where(col(Target.id) == UUID(created["id"])))
        ).all() == []


async def test_a_target_year_before_the_baseline_is_refused(as_role: AsRole) -> None:
    body = SEED | {"target_year": 2021}
    response = await as_role(Role.ADMIN).post("/api/v1/targets", json=body)
    listed = await as_role(Role.ADMIN).get("/api/v1/targets")

    assert response.status_code == 422
    # A rule over two fields names them in its message (its place is the body).
    assert "target_year must come after baseline_year" in response.json()["errors"][0]["msg"]
    assert listed.json()["items"] == []


class TestTargetChart:
    async def test_the_series_sets_each_years_rate_beside_the_trajectory(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _round_with_poor(sessionmaker, poor=10, resident=1000)  # 1.0 % in 2023
        officer = as_role(Role.PROVINCE_OFFICER, "26")
        target = (await officer.post("/api/v1/targets", json=SEED)).json()
        series = await officer.get(f"/api/v1/targets/{target['id']}/series")
        assert series.status_code == 200, series.text
        answer = series.json()
        assert (answer["target_percent"], answer["status"]) == (0.7, "off_track")
        assert answer["points"] == [
            {
                "year": 2022,
                "expected_percent": 0.99,
                "rate_percent": None,  # no 2022 round: the baseline was given
                "figures_status": None,
                "on_track": None,
            },
            {
                "year": 2023,
                "expected_percent": 0.7,
                "rate_percent": 1.0,
                "figures_status": "provisional",
                "on_track": False,
            },
        ]
        assert answer["disclosure"] is None

    async def test_years_with_figures_after_the_target_year_keep_the_target_as_trajectory(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _round_with_poor(sessionmaker, poor=5, resident=1000)  # 0.5 % in 2023
        body = SEED | {"baseline_year": 2020, "baseline_percent": 1.5, "target_year": 2022}
        target = (await as_role(Role.ADMIN).post("/api/v1/targets", json=body)).json()
        answer = (await as_role(Role.ADMIN).get(f"/api/v1/targets/{target['id']}/series")).json()
        assert [p["year"] for p in answer["points"]] == [2020, 2021, 2022, 2023]
        assert [p["expected_percent"] for p in answer["points"]] == pytest.approx(
            [1.5, 1.1, 0.7, 0.7]
        )
        assert [p["rate_percent"] for p in answer["points"]] == [None, None, None, 0.5]
        assert answer["points"][-1]["on_track"] is True

    async def test_the_chart_is_svg_or_png_by_format_or_accept(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _round_with_poor(sessionmaker, poor=10, resident=1000)
        officer = as_role(Role.PROVINCE_OFFICER, "26")
        target = (await officer.post("/api/v1/targets", json=SEED)).json()
        url = f"/api/v1/targets/{target['id']}/chart"
        svg = await officer.get(url)
        assert svg.status_code == 200, svg.text
        assert svg.headers["content-type"] == "image/svg+xml"
        assert b"<svg" in svg.content
        for png in (
            await officer.get(url, params={"format": "png", "lang": "en"}),
            await officer.get(url, headers={"Accept": "image/png"}),
        ):
            assert png.headers["content-type"] == "image/png"
            assert png.content.startswith(b"\x89PNG")
        # A different picture in English (the texts are drawn), the same for the same asking.
        english = await officer.get(url, params={"lang": "en"})
        assert english.content != svg.content
        assert (await officer.get(url)).content == svg.content

    async def test_the_chart_and_series_follow_the_targets_scope_and_disclosure(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await _round_with_poor(sessionmaker, poor=10, resident=1000)
        target = (
            await as_role(Role.PROVINCE_OFFICER, "26").post("/api/v1/targets", json=SEED)
        ).json()
        for path in ("chart", "series"):
            url = f"/api/v1/targets/{target['id']}/{path}"
            assert (await as_role(Role.PROVINCE_OFFICER, "01").get(url)).status_code == 404
            assert (await as_role(Role.COMMUNE_OFFICER, "08707").get(url)).status_code == 200
            unknown = f"/api/v1/targets/{uuid5(NS, 'none')}/{path}"
            assert (await as_role(Role.ADMIN).get(unknown)).status_code == 404
        analyst = as_role(Role.MINISTRY_ANALYST)
        series = (await analyst.get(f"/api/v1/targets/{target['id']}/series")).json()
        read = (await analyst.get(f"/api/v1/targets/{target['id']}")).json()
        assert series["disclosure"]["method"] == "cell_key"
        # The analyst's rates are the target's answer's own (perturbed counts), year by year.
        assert [p["rate_percent"] for p in series["points"] if p["rate_percent"] is not None] == [
            o["rate_percent"] for o in read["observations"]
        ]
        chart = await analyst.get(f"/api/v1/targets/{target['id']}/chart")
        assert chart.status_code == 200
