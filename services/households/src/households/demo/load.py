"""Loads the demo: a review round, synthetic households over a province's communes, populations."""

from collections import Counter
from datetime import date

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.demo.generator import Commune, generate
from households.household import service as household_service
from households.household.models import Household
from households.population import service as population_service
from households.population.schemas import PopulationInput
from households.round import service as round_service
from households.round.models import RoundKind
from households.round.schemas import RoundCreate
from households.unit import service as unit_service
from households.unit.models import AdminUnit
from kit.contracts.households import Area

log = structlog.get_logger()

DEMO_ROUND = RoundCreate(
    year=2024,
    kind=RoundKind.periodic,
    reference_date=date(2024, 11, 1),
    standard_id="VN-2022-2025",
    name="Periodic review 2024 (demo)",
)


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    province: str = "26",
    households: int = 3000,
    seed: int = 2024,
    batch: int = 100,
) -> int:
    """Load the demo unless households exist already; the number of households loaded.

    Populations come first, so that rates show from the first classified households on.
    """
    async with sessionmaker() as session:
        if (await session.exec(select(func.count()).select_from(Household))).one():
            return 0
        communes = [
            Commune(code=unit.code, urban=unit.area == Area.urban)
            for unit in await _communes(session, province, DEMO_ROUND.reference_date)
        ]
    synthetic = list(
        generate(
            communes, households=households, reference_date=DEMO_ROUND.reference_date, seed=seed
        )
    )
    resident: Counter[str] = Counter(item.household.commune_code for item in synthetic)
    persons: Counter[str] = Counter()
    for item in synthetic:
        persons[item.household.commune_code] += len(item.assessment.members)
    async with sessionmaker() as session, session.begin():
        review_round = await round_service.open_round(
            session, DEMO_ROUND, known_standards=[DEMO_ROUND.standard_id]
        )
        for code, count in resident.items():
            await population_service.record(
                session,
                review_round,
                code,
                PopulationInput(resident_households=count, resident_persons=persons[code]),
            )
    for start in range(0, len(synthetic), batch):
        async with sessionmaker() as session, session.begin():
            for item in synthetic[start : start + batch]:
                household = await household_service.register(session, item.household)
                await household_service.record_assessment(
                    session, household, review_round, item.assessment, if_match=None
                )
        log.info("demo.loading", households=start + batch, of=len(synthetic))
    log.info("demo.loaded", households=len(synthetic), communes=len(resident))
    return len(synthetic)


async def _communes(session: AsyncSession, province: str, on: date) -> list[AdminUnit]:
    communes = []
    for district in await unit_service.children(session, province, on=on):
        communes += await unit_service.children(session, district.code, on=on)
    return communes
