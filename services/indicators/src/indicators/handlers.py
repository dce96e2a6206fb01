"""What the indicators service does with each event it consumes."""

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.config import Settings
from indicators.db import inbox
from indicators.facts.models import AssessmentFacts, MemberFact
from indicators.figures import population as population_service
from indicators.figures import service as figures_service
from indicators.figures.cell_key import RecordKeys, record_keys
from indicators.left_behind import service as left_behind_service
from indicators.left_behind.models import LeftBehindHousehold
from indicators.recalculation.locks import lock_round
from indicators.restatement import service as restatement_service
from indicators.restatement.models import HouseholdUnitCopy
from indicators.review import service as review_service
from kit.bulk import Analyser
from kit.contracts import Envelope
from kit.contracts.households import (
    AssessmentRecordedV1,
    AssessmentsRecordedV1,
    HouseholdRegisteredV1,
    HouseholdsRegisteredV1,
    HouseholdUpdatedV1,
    PopulationRecordedV1,
    ProvinceApprovedV1,
    ReviewReopenedV1,
    ReviewStepChangedV1,
    RoundOpenedV1,
    SupportRecordedV1,
    SupportWithdrawnV1,
    UnitSuccessionsRecordedV1,
)
from kit.db import table_of
from kit.messaging import EventConsumer

CONSUMER = "indicators"


# The tables a round's surveys fill, analysed as they do (`kit.bulk.Analyser`): an import's
# surveys arrive by the thousand.
GROWN_BY_SURVEYS = tuple(
    table_of(model)
    for model in (
        AssessmentCopy,
        HouseholdClassification,
        AssessmentFacts,
        MemberFact,
        LeftBehindHousehold,
        HouseholdUnitCopy,
    )
)


def on_assessments_recorded(
    keys: RecordKeys, analyser: Analyser
) -> Callable[[AsyncSession, Sequence[classification_service.Delivery]], Awaitable[None]]:
    """Single survey events and batch messages alike: registered for both types, the consumer
    hands it a batch's events of the two together, in delivery order."""

    async def handle(
        session: AsyncSession, deliveries: Sequence[classification_service.Delivery]
    ) -> None:
        surveys = classification_service.received(deliveries)
        for round_id in sorted({assessment.round_id for assessment, _ in surveys}):
            await lock_round(session, round_id, exclusive=False)
        await classification_service.record_assessments(session, surveys, keys)
        await analyser.wrote(session, len(surveys))

    return handle


async def on_support(
    session: AsyncSession, deliveries: Sequence[left_behind_service.SupportDelivery]
) -> None:
    """Support records and withdrawals alike, in delivery order: a withdrawal delivered in the
    batch of its record applies after it."""
    await left_behind_service.record_support(session, deliveries)


async def on_population_recorded(
    session: AsyncSession, envelope: Envelope, event: PopulationRecordedV1
) -> None:
    await lock_round(session, event.round_id, exclusive=False)
    await population_service.record(session, envelope, event)


def consumer(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings | None = None
) -> EventConsumer:
    """The service's consumer; record keys under the secret of `settings` (else the
    environment's, as `Settings()` reads it)."""
    assessments = on_assessments_recorded(record_keys(settings), Analyser(GROWN_BY_SURVEYS))
    return EventConsumer(
        name=CONSUMER,
        sessionmaker=sessionmaker,
        inbox=inbox,
        handlers={
            PopulationRecordedV1: on_population_recorded,
            RoundOpenedV1: figures_service.record_round_opened,
            UnitSuccessionsRecordedV1: restatement_service.record_successions,
            ReviewStepChangedV1: review_service.record_step,
            ReviewReopenedV1: review_service.record_step,
            ProvinceApprovedV1: review_service.record_province_approval,
        },
        batch_handlers={
            AssessmentRecordedV1: assessments,
            AssessmentsRecordedV1: assessments,
            HouseholdRegisteredV1: restatement_service.record_households,
            HouseholdUpdatedV1: restatement_service.record_households,
            HouseholdsRegisteredV1: restatement_service.record_households,
            SupportRecordedV1: on_support,
            SupportWithdrawnV1: on_support,
        },
    )
