"""Loads the demo: a review round, synthetic households over a province's communes, populations."""

from datetime import date
from itertools import islice

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.household import service as household_service
from households.household.models import Household
from households.population import service as population_service
from households.round import service as round_service
from households.round.models import RoundKind
from households.round.schemas import RoundCreate
from households.synthetic import generate, populations, province_communes
from kit.auth import Caller, Role

log = structlog.get_logger()

# The demo loader acts on its own: audit entries and events name it as their actor.
LOADER = Caller(subject="system:demo-loader", role=Role.ADMIN, unit_scope=None)

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

    Populations come first, so that rates show from the first classified households on. The
    households are streamed from the generator, `batch` to a transaction.
    """
    on = DEMO_ROUND.reference_date
    structlog.contextvars.bind_contextvars(actor=LOADER.subject)
    async with sessionmaker() as session:
        if (await session.exec(select(func.count()).select_from(Household))).one():
            return 0
        communes = await province_communes(session, province, on=on)
    rows = populations(communes, households=households, seed=seed, reference_date=on)
    async with sessionmaker() as session, session.begin():
        review_round = await round_service.open_round(
            session, DEMO_ROUND, known_standards=[DEMO_ROUND.standard_id]
        )
        await population_service.import_rows(session, review_round, dict(enumerate(rows)), LOADER)
    synthetic = generate(communes, households=households, seed=seed, reference_date=on)
    loaded = 0
    while chunk := list(islice(synthetic, batch)):
        async with sessionmaker() as session, session.begin():
            for item in chunk:
                household = await household_service.register(session, item.household, LOADER)
                await household_service.record_assessment(
                    session, household, review_round, item.assessment, if_match=None
                )
        loaded += len(chunk)
        log.info("demo.loading", households=loaded, of=households)
    log.info("demo.loaded", households=loaded, communes=len(rows))
    return loaded
