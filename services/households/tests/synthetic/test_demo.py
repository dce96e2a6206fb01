"""The demo that `make run` loads: Vĩnh Phúc's synthetic households in 2022 and 2024 rounds on the
old map (approved) and a 2026 round on today's map (in progress), the province's targets and
context series set through the indicators service, resumable wherever it was stopped."""

import asyncio
import json
import sys
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.household.models import Assessment, Household
from households.population.models import UnitPopulation
from households.review.models import CommuneReview, ProvinceApproval
from households.round.models import ReviewRound
from households.unit import service as unit_service
from synthetic import demo, generate, populations, province_communes
from synthetic.demo import (
    BASELINE_ROUND,
    BASELINE_SEED,
    NEW_ROUND,
    OLD_ROUND,
    WALK_THROUGH_COMMUNE,
    load_demo,
)

HOUSEHOLDS, SEED, BATCH = 250, 9, 40  # two or three households in each of the 121 communes


async def successor_of(session: AsyncSession, code: str) -> str:
    unit = await unit_service.get_commune(session, code, on=OLD_ROUND.reference_date)
    assert unit is not None
    [(_, successor)] = await unit_service.successors(session, unit)
    return successor.code


async def expected_demo(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """What a whole load leaves, from the generator and the crosswalk."""
    async with sessionmaker() as session:
        communes = await province_communes(session, "26", on=OLD_ROUND.reference_date)
        successors = {c.code: await successor_of(session, c.code) for c in communes}
    generated = list(
        generate(
            communes, households=HOUSEHOLDS, seed=SEED, reference_date=OLD_ROUND.reference_date
        )
    )
    new_communes = sorted(set(successors.values()))
    resurveyed = [
        code
        for index, code in enumerate(new_communes)
        if index % 3 != 2 and code != WALK_THROUGH_COMMUNE
    ]
    homes = {
        item.household.household_code: successors[item.household.commune_code] for item in generated
    }
    new_populations: Counter[str] = Counter()
    for row in populations(communes, households=HOUSEHOLDS, seed=SEED):
        new_populations[successors[row.unit_code]] += row.resident_households
    baseline_persons = sum(
        row.resident_persons
        for row in populations(
            communes,
            households=HOUSEHOLDS,
            seed=BASELINE_SEED,
            reference_date=BASELINE_ROUND.reference_date,
        )
    )
    return {
        "households": sorted(homes.items()),
        "surveys": {
            2022: HOUSEHOLDS,
            2024: HOUSEHOLDS,
            2026: sum(home in resurveyed for home in homes.values()),
        },
        "reviews": {
            2022: {code: "approved" for code in successors},
            2024: {code: "approved" for code in successors},
            2026: {resurveyed[0]: "posted", resurveyed[1]: "surveyed"},
        },
        "province_approved": [(2022, "26"), (2024, "26")],
        "populations": {
            2022: (HOUSEHOLDS, baseline_persons),
            2024: HOUSEHOLDS,
            2026: dict(new_populations),
        },
    }


async def loaded_demo(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """What the database holds of the demo, in the shape of `expected_demo`."""
    async with sessionmaker() as session:
        years = dict((await session.exec(select(ReviewRound.id, ReviewRound.year))).all())
        households = (
            await session.exec(select(Household.household_code, Household.commune_code))
        ).all()
        surveys = (
            await session.exec(
                select(Assessment.round_id, func.count()).group_by(col(Assessment.round_id))
            )
        ).all()
        reviews = (
            await session.exec(
                select(CommuneReview.round_id, CommuneReview.commune_code, CommuneReview.state)
            )
        ).all()
        approvals = (
            await session.exec(
                select(ProvinceApproval.round_id, ProvinceApproval.province_code).where(
                    col(ProvinceApproval.approved)
                )
            )
        ).all()
        stored = (await session.exec(select(UnitPopulation))).all()
    by_round: dict[int, dict[str, str]] = {year: {} for year in years.values()}
    for round_id, code, state in reviews:
        by_round[years[round_id]][code] = state.value
    return {
        "households": sorted(households),
        "surveys": {years[round_id]: count for round_id, count in surveys},
        "reviews": by_round,
        "province_approved": sorted((years[round_id], code) for round_id, code in approvals),
        "populations": {
            2022: (
                sum(p.resident_households for p in stored if years[p.round_id] == 2022),
                sum(p.resident_persons for p in stored if years[p.round_id] == 2022),
            ),
            2024: sum(p.resident_households for p in stored if years[p.round_id] == 2024),
            2026: {p.unit_code: p.resident_households for p in stored if years[p.round_id] == 2026},
        },
    }


async def test_the_demo_has_an_approved_old_round_and_a_round_in_progress_on_todays_map(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    loaded = await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH)

    assert loaded == HOUSEHOLDS
    assert await loaded_demo(sessionmaker) == await expected_demo(sessionmaker)
    async with sessionmaker() as session:
        rounds = (await session.exec(select(ReviewRound).order_by(ReviewRound.year))).all()
        walk_through = (
            await session.exec(
                select(func.count()).where(Household.commune_code == WALK_THROUGH_COMMUNE)
            )
        ).one()
    assert [(r.year, r.kind, r.reference_date, r.standard_id) for r in rounds] == [
        (
            BASELINE_ROUND.year,
            BASELINE_ROUND.kind,
            BASELINE_ROUND.reference_date,
            BASELINE_ROUND.standard_id,
        ),
        (OLD_ROUND.year, OLD_ROUND.kind, OLD_ROUND.reference_date, OLD_ROUND.standard_id),
        (NEW_ROUND.year, NEW_ROUND.kind, NEW_ROUND.reference_date, NEW_ROUND.standard_id),
    ]
    assert walk_through > 0  # households carried across into it, left for the walk-through


async def test_the_old_round_surveys_the_households_in_their_old_communes_after_populations(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH)

    async with sessionmaker() as session:
        communes = await province_communes(session, "26", on=OLD_ROUND.reference_date)
        old_round = (await session.exec(select(ReviewRound).where(ReviewRound.year == 2024))).one()
        surveyed_in = (
            await session.exec(
                select(Household.household_code, Assessment.commune_code)
                .join(Assessment, col(Assessment.household_id) == col(Household.id))
                .where(Assessment.round_id == old_round.id)
            )
        ).all()
        staged = (await session.exec(select(outbox.c.type).order_by(outbox.c.position))).all()
    generated = generate(
        communes, households=HOUSEHOLDS, seed=SEED, reference_date=OLD_ROUND.reference_date
    )
    assert sorted(surveyed_in) == sorted(
        (item.household.household_code, item.household.commune_code) for item in generated
    )
    population = [n for n, kind in enumerate(staged) if kind.startswith("households.population.")]
    assessment = [n for n, kind in enumerate(staged) if kind.startswith("households.assessment.")]
    assert min(assessment) > max(population[:121])  # the old round's 121 communes first


class Interrupting:
    """A sessionmaker that cancels the load as the stage named `stage` (the loader's function)
    opens its `nth` session, a moment later, so that the cancellation lands inside that
    session's transaction, as Ctrl-C would."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], stage: str, nth: int
    ) -> None:
        self._sessionmaker, self._stage, self._nth = sessionmaker, stage, nth
        self.opened: Counter[str] = Counter()

    def __call__(self) -> AsyncSession:
        stage = sys._getframe(1).f_code.co_name
        self.opened[stage] += 1
        if stage == self._stage and self.opened[stage] == self._nth:
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().call_soon(task.cancel)
        return self._sessionmaker()


@pytest.mark.parametrize(
    ("stage", "nth"),
    [
        ("_survey_generated", 3),  # the third batch of households with their 2024 surveys
        ("_advance", 60),  # the 60th commune's 2024 review
        ("_approve_province", 1),
        ("_survey_earlier", 2),  # the second batch of 2022 surveys
        ("_advance", 150),  # a 2022 commune's review
        ("_approve_province", 2),  # the 2022 round's
        ("_carry_across", 3),  # the third batch of households moved to today's communes
        ("_resurvey", 2),  # the second batch of 2026 surveys
        ("_advance", 243),  # the first 2026 review moved
    ],
)
async def test_a_load_stopped_anywhere_is_completed_by_the_next_start(
    sessionmaker: async_sessionmaker[AsyncSession], stage: str, nth: int
) -> None:
    interrupting = Interrupting(sessionmaker, stage, nth)

    with pytest.raises(asyncio.CancelledError):
        await load_demo(interrupting, households=HOUSEHOLDS, seed=SEED, batch=BATCH)  # type: ignore[arg-type]
    stopped = await loaded_demo(sessionmaker)
    await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH)

    assert interrupting.opened[stage] == nth  # it was stopped there
    assert stopped != await expected_demo(sessionmaker)  # before the end
    assert await loaded_demo(sessionmaker) == await expected_demo(sessionmaker)


async def test_a_whole_demo_is_loaded_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH)
    async with sessionmaker() as session:
        staged = (await session.exec(select(func.count()).select_from(outbox))).one()

    assert await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH) == 0
    async with sessionmaker() as session:
        assert (await session.exec(select(func.count()).select_from(outbox))).one() == staged


class FakeIndicators:
    """The indicators service's targets and context-series routes as far as the loader uses
    them; it answers 422 on `unit_code` to the first `unknown_for` posts, as the service does
    while it has not learned the province from the rounds' events yet."""

    def __init__(self, unknown_for: int) -> None:
        self.unknown_for = unknown_for
        self.posts = 0
        self.targets: list[dict[str, Any]] = []
        self.values: dict[tuple[str, int, str], dict[str, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == "/api/v1/targets":
            return httpx.Response(200, json={"items": self.targets})
        if request.method == "GET" and path.startswith("/api/v1/context-series/"):
            code = path.rsplit("/", 1)[1]
            years = sorted({year for unit, year, _ in self.values if unit == code})
            if not years:
                return httpx.Response(404, json={"status": 404, "errors": []})
            items = [
                {
                    "year": year,
                    "series": [v for k, v in self.values.items() if k[:2] == (code, year)],
                }
                for year in years
            ]
            return httpx.Response(200, json={"unit_code": code, "items": items})
        self.posts += 1
        if self.posts <= self.unknown_for:
            error = {"loc": ["body", "unit_code"], "msg": "No unit 26 in your scope."}
            return httpx.Response(422, json={"status": 422, "errors": [error]})
        body = json.loads(request.content)
        if path == "/api/v1/targets":
            self.targets.append(body)
            return httpx.Response(201, json=body)
        assert path == "/api/v1/context-series/import"
        for row in body:
            self.values[row["unit_code"], row["year"], row["series"]] = row
        return httpx.Response(200, json={"imported": len(body), "replaced": 0})


async def test_the_targets_and_context_series_are_set_once_the_province_is_known(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "FIGURES_WAIT_SECONDS", 0)
    fake = FakeIndicators(unknown_for=2)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(fake), base_url="http://platform"
    ) as indicators:
        await load_demo(
            sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH, indicators=indicators
        )
        asked = fake.posts
        await load_demo(
            sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH, indicators=indicators
        )

    assert fake.targets == demo.TARGETS
    assert [(t["unit_code"], t["value_percent"], t["target_year"]) for t in fake.targets] == [
        ("26", 0.7, 2023),
        ("26", 1.0, 2025),
    ]
    assert len(fake.values) == 12  # three series, 26 in 2022-2024 and 25 in 2026
    assert all("Illustrative" in row["note"] for row in fake.values.values())
    assert asked == 2 + 2 + 1  # refused twice (unit unknown), then two targets and one batch
    assert fake.posts == asked  # the second start had nothing left to set
