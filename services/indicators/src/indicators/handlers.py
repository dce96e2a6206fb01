"""What the indicators service does with each event it consumes."""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.db import inbox
from indicators.figures import population as population_service
from indicators.recalculation.locks import lock_round
from indicators.standard.exceptions import StandardNotFound
from kit.contracts import Envelope
from kit.contracts.households import AssessmentRecordedV1, PopulationRecordedV1
from kit.messaging import EventConsumer, PoisonMessage

CONSUMER = "indicators"


async def on_assessment_recorded(
    session: AsyncSession, envelope: Envelope, event: AssessmentRecordedV1
) -> None:
    await lock_round(session, event.round_id, exclusive=False)
    try:
        await classification_service.record_assessment(session, envelope, event)
    except (StandardNotFound, ValueError) as unusable:
        # An unknown or inapplicable standard: retrying cannot help. The message waits in the
        # dead-letter queue until the standard ships, then is replayed.
        raise PoisonMessage(str(unusable)) from unusable


async def on_population_recorded(
    session: AsyncSession, envelope: Envelope, event: PopulationRecordedV1
) -> None:
    await lock_round(session, event.round_id, exclusive=False)
    await population_service.record(session, envelope, event)


def consumer(sessionmaker: async_sessionmaker[AsyncSession]) -> EventConsumer:
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=sessionmaker,
        inbox=inbox,
        handlers={
            AssessmentRecordedV1: on_assessment_recorded,
            PopulationRecordedV1: on_population_recorded,
        },
    )
