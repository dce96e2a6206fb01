"""`python -m indicators.facts`: build every round's facts tables from the assessment copies.

A one-off after upgrading an existing database (the migration fills the facts but not the record
keys, which need the deployment's secret); a recalculation or a what-if of a round does the same
for that round by itself. Safe to run again: rounds already in line are left as they are.
"""

import asyncio

import structlog
from sqlalchemy import distinct
from sqlmodel import select

from indicators.classification.models import AssessmentCopy
from indicators.config import Settings
from indicators.facts.service import refresh
from indicators.figures.cell_key import record_keys
from kit.db import make_engine, make_sessionmaker, table_of
from kit.logging import configure_logging


async def refresh_all(settings: Settings) -> int:
    engine = make_engine(settings.DATABASE_URL)
    sessionmaker = make_sessionmaker(engine)
    keys, touched = record_keys(settings), 0
    try:
        async with sessionmaker() as session:
            statement = select(distinct(table_of(AssessmentCopy).c.round_id))
            rounds = (await session.exec(statement)).all()
        for round_id in rounds:
            async with sessionmaker() as session, session.begin():
                touched += await refresh(session, round_id, keys)
    finally:
        await engine.dispose()
    return touched


if __name__ == "__main__":
    settings = Settings()
    configure_logging(settings)
    structlog.get_logger().info(
        "facts.refreshed_all", assessments=asyncio.run(refresh_all(settings))
    )
