"""Full recalculation of a round from the service's own copy of the assessments.

It runs beside data entry and beside the incremental consumer: phase one reads and classifies
without locks, reporting progress; phase two takes the round's lock, checks that no event arrived
meanwhile (else it starts over) and swaps in the new classifications and counters at once.
"""

from collections import Counter
from collections.abc import Sequence
from uuid import UUID

import structlog
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.classification.engine import classify
from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.classification.schemas import Classification
from indicators.figures import service as figures_service
from indicators.figures.counts import (
    COMMUNES_MISSING_POPULATION,
    Counts,
    missing_population_flag,
    population_counts,
)
from indicators.figures.models import PopulationCopy
from indicators.recalculation.locks import lock_round
from indicators.recalculation.models import JobStatus, RecalculationJob
from indicators.standard.service import get_standard
from kit.contracts.households import AssessmentRecordedV1
from kit.db import utc_now
from kit.errors import NotFound

log = structlog.get_logger()
Fingerprint = tuple[int, int, int, int]
MAX_ATTEMPTS = 5


class JobNotFound(NotFound):
    def __init__(self, job_id: UUID) -> None:
        super().__init__(f"Recalculation job {job_id} does not exist.")


async def request(session: AsyncSession, round_id: UUID) -> RecalculationJob:
    """Queue a recalculation of the round; a worker picks it up."""
    job = RecalculationJob(round_id=round_id)
    session.add(job)
    await session.flush()
    return job


async def claim_next(sessionmaker: async_sessionmaker[AsyncSession]) -> RecalculationJob | None:
    async with sessionmaker() as session, session.begin():
        statement = (
            select(RecalculationJob)
            .where(RecalculationJob.status == JobStatus.queued)
            .order_by(col(RecalculationJob.requested_at))
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        job = (await session.exec(statement)).first()
        if job is not None:
            job.status, job.started_at = JobStatus.running, utc_now()
        return job


async def run(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID, *, batch_size: int = 2000
) -> None:
    """Run a claimed job to the end, recording success or the error."""
    try:
        for _ in range(MAX_ATTEMPTS):
            if await _attempt(sessionmaker, job_id, batch_size):
                return
            log.info("recalculation.restarted", job_id=str(job_id))
        raise RuntimeError(f"events kept arriving: gave up after {MAX_ATTEMPTS} attempts")
    except Exception as error:
        log.exception("recalculation.failed", job_id=str(job_id))
        async with sessionmaker() as session, session.begin():
            job = await session.get(RecalculationJob, job_id)
            assert job is not None
            job.status, job.error, job.finished_at = JobStatus.failed, repr(error), utc_now()


async def _attempt(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID, batch_size: int
) -> bool:
    async with sessionmaker() as session:
        job = await session.get(RecalculationJob, job_id)
        assert job is not None
        round_id = job.round_id
        fingerprint = await _fingerprint(session, round_id)
    totals: dict[tuple[str, str], int] = Counter()
    communes: dict[str, tuple[list[str], Counts]] = {}
    changed_results: list[tuple[AssessmentRecordedV1, Classification]] = []
    total, done = fingerprint[0], 0
    await _progress(sessionmaker, job_id, total=total, done=0)
    last_key: UUID | None = None
    while True:
        async with sessionmaker() as session:
            statement = select(AssessmentCopy).where(AssessmentCopy.round_id == round_id)
            if last_key is not None:
                statement = statement.where(col(AssessmentCopy.assessment_id) > last_key)
            batch = (
                await session.exec(
                    statement.order_by(col(AssessmentCopy.assessment_id)).limit(batch_size)
                )
            ).all()
            stored = await _stored_results(session, [copy.assessment_id for copy in batch])
        if not batch:
            break
        for copy in batch:
            assessment = AssessmentRecordedV1.model_validate(copy.facts)
            result = classify(assessment, get_standard(assessment.standard_id))
            counts = classification_service.counts_of(result, persons=len(assessment.members))
            _add_to_path(totals, communes, assessment.unit_path, counts)
            # Only what differs is kept: a round of a million households fits in memory.
            if stored.get(copy.assessment_id) != result.model_dump(mode="json"):
                changed_results.append((assessment, result))
        done += len(batch)
        last_key = batch[-1].assessment_id
        await _progress(sessionmaker, job_id, total=total, done=done)
    async with sessionmaker() as session:
        populations = (
            await session.exec(select(PopulationCopy).where(PopulationCopy.round_id == round_id))
        ).all()
    for population in populations:
        facts = population.facts
        counts = population_counts(
            area=facts["area"],
            resident_households=facts["resident_households"],
            resident_persons=facts["resident_persons"],
        )
        _add_to_path(totals, communes, facts["unit_path"], counts)
    for path, commune_counts in communes.values():
        flag = missing_population_flag(commune_counts)
        if flag:
            for unit in path:
                totals[(unit, COMMUNES_MISSING_POPULATION)] += flag

    async with sessionmaker() as session, session.begin():
        await lock_round(session, round_id, exclusive=True)
        if await _fingerprint(session, round_id) != fingerprint:
            return False
        before = await figures_service.round_totals(session, round_id)
        changed = 0
        for assessment, result in changed_results:
            # store() also applies counter deltas; the counters are replaced wholesale below.
            changed += await classification_service.store(session, assessment, result)
        await figures_service.replace_round(
            session, round_id, ((unit, metric, value) for (unit, metric), value in totals.items())
        )
        after = {key: value for key, value in totals.items() if value}
        job = await session.get(RecalculationJob, job_id)
        assert job is not None
        job.status, job.finished_at = JobStatus.succeeded, utc_now()
        job.done, job.changed_classes = done, changed
        job.figures_changed = sum(
            1 for key in before.keys() | after.keys() if before.get(key) != after.get(key)
        )
    log.info(
        "recalculation.succeeded", job_id=str(job_id), households=done, changed_classes=changed
    )
    return True


def _add_to_path(
    totals: dict[tuple[str, str], int],
    communes: dict[str, tuple[list[str], Counts]],
    path: Sequence[str],
    counts: Counts,
) -> None:
    for unit in path:
        for metric, value in counts.items():
            totals[(unit, metric)] += value
    commune = communes.setdefault(path[-1], (list(path), Counter()))
    commune[1].update(counts)


async def _stored_results(session: AsyncSession, ids: list[UUID]) -> dict[UUID, object]:
    statement = select(HouseholdClassification.assessment_id, HouseholdClassification.result)
    rows = (
        await session.exec(statement.where(col(HouseholdClassification.assessment_id).in_(ids)))
    ).all()
    return dict(rows)


async def _fingerprint(session: AsyncSession, round_id: UUID) -> Fingerprint:
    copies = (
        await session.exec(
            select(func.count(), func.coalesce(func.sum(AssessmentCopy.sequence), 0)).where(
                AssessmentCopy.round_id == round_id
            )
        )
    ).one()
    populations = (
        await session.exec(
            select(func.count(), func.coalesce(func.sum(PopulationCopy.sequence), 0)).where(
                PopulationCopy.round_id == round_id
            )
        )
    ).one()
    return int(copies[0]), int(copies[1]), int(populations[0]), int(populations[1])


async def _progress(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID, *, total: int, done: int
) -> None:
    async with sessionmaker() as session, session.begin():
        job = await session.get(RecalculationJob, job_id)
        assert job is not None
        job.total, job.done = total, done


async def get(session: AsyncSession, job_id: UUID) -> RecalculationJob:
    job = await session.get(RecalculationJob, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job
