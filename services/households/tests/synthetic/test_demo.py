"""The demo that `make run` loads comes from the synthetic-province generator."""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.demo.load import DEMO_ROUND, load_demo
from households.household.models import Assessment, Household
from households.population.models import UnitPopulation
from households.synthetic import generate, populations, province_communes


async def test_the_demo_loads_populations_then_every_generated_household(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    loaded = await load_demo(sessionmaker, households=150, seed=9, batch=40)

    async with sessionmaker() as session:
        communes = await province_communes(session, "26", on=DEMO_ROUND.reference_date)
        codes = (await session.exec(select(Household.household_code))).all()
        assessments = (await session.exec(select(func.count()).select_from(Assessment))).one()
        stored = (await session.exec(select(UnitPopulation))).all()
        staged = (await session.exec(select(outbox.c.type).order_by(outbox.c.position))).all()
    expected = generate(communes, households=150, seed=9, reference_date=DEMO_ROUND.reference_date)
    assert loaded == assessments == 150
    # Populations first: every population event is staged before the first assessment event.
    population = [n for n, kind in enumerate(staged) if kind.startswith("households.population.")]
    assessment = [n for n, kind in enumerate(staged) if kind.startswith("households.assessment.")]
    assert len(population) == 121
    assert max(population) < min(assessment)
    assert sorted(codes) == sorted(item.household.household_code for item in expected)
    assert sorted(
        (row.unit_code, row.resident_households, row.resident_persons) for row in stored
    ) == [
        (row.unit_code, row.resident_households, row.resident_persons)
        for row in populations(communes, households=150, seed=9)
    ]


async def test_the_demo_is_loaded_only_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    assert await load_demo(sessionmaker, households=5) == 5

    assert await load_demo(sessionmaker, households=5) == 0
