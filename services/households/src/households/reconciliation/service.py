"""What the households service holds of a round, for the indicators service to reconcile its copy
against, and the re-publication of a round's surveys to rebuild that copy."""

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.household import events
from households.household.models import Assessment, Household
from households.household.schemas import AssessmentInput
from households.round.models import ReviewRound
from households.unit import service as unit_service
from kit.contracts.ledger import RoundLedger, ledger_of
from kit.messaging import stage_many

REPUBLISH_BATCH = 500


async def ledger(session: AsyncSession, round_id: UUID) -> RoundLedger:
    """Per commune of the round: the surveyed households and the checksum of their assessments'
    versions. One query of three narrow columns per survey, summed here: a few seconds for a
    province's round; the checksum (`kit.contracts.ledger`) is computed the same way by the
    indicators service."""
    rows = await session.exec(
        select(Assessment.commune_code, Assessment.id, Assessment.version).where(
            Assessment.round_id == round_id
        )
    )
    return ledger_of(round_id, rows.all())


async def republish(session: AsyncSession, review_round: ReviewRound) -> int:
    """Stage the current assessment event of every survey of the round, `REPUBLISH_BATCH` at a
    time, in the request's one transaction: all of them reach the outbox, or none. Consumers
    skip an event whose version they have applied, so this repairs only what they miss."""
    staged, last_id = 0, None
    while True:
        statement = select(Assessment, Household).join(
            Household, col(Household.id) == col(Assessment.household_id)
        )
        statement = statement.where(Assessment.round_id == review_round.id)
        if last_id is not None:
            statement = statement.where(col(Assessment.id) > last_id)
        batch = (
            await session.exec(statement.order_by(col(Assessment.id)).limit(REPUBLISH_BATCH))
        ).all()
        if not batch:
            return staged
        envelopes = []
        for assessment, household in batch:
            # Remembered by the app's unit cache after the first survey of each commune.
            commune = await unit_service.get_commune(
                session, assessment.commune_code, on=review_round.reference_date
            )
            assert commune is not None  # a survey is recorded only in a commune of its round
            envelopes.append(
                events.assessment_recorded(
                    AssessmentInput.model_validate(assessment, from_attributes=True),
                    assessment_id=assessment.id,
                    version=assessment.version,
                    household=household,
                    review_round=review_round,
                    commune=commune,
                )
            )
        await stage_many(session, outbox, envelopes)
        staged += len(envelopes)
        last_id = batch[-1][0].id
        session.expunge_all()  # the batch is staged: its rows need not stay in memory
