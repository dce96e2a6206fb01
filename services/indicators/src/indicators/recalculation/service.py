"""Full recalculation of a round from the service's own copy of the assessments.

It runs beside data entry and beside the incremental consumer: phase one reads and classifies
without locks, reporting progress; phase two takes the round's lock, checks that no event arrived
meanwhile (else it starts over) and swaps in the new classifications and counters at once.

A job asked for by a caller with a unit scope redoes only the subtrees of those units: their
counters are set to the recomputed values, the units above them move by the same differences,
and every other counter of the round stays as it is.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

import structlog
from sqlalchemy import func
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators import jobs
from indicators.classification import service as classification_service
from indicators.classification import setwise
from indicators.classification.engine import classify
from indicators.classification.models import AssessmentCopy
from indicators.classification.schemas import Classification
from indicators.facts import service as facts_service
from indicators.figures import service as figures_service
from indicators.figures.cell_key import RecordKeys
from indicators.figures.cell_key import record_keys as default_record_keys
from indicators.figures.counts import (
    CounterKey,
    Counts,
    Tally,
    flag_change,
    missing_population_flag,
    on_units,
    population_counts,
)
from indicators.figures.models import PopulationCopy
from indicators.recalculation.locks import lock_round
from indicators.recalculation.models import JobStatus, RecalculationJob
from indicators.standard.service import get_standard
from kit.auth import Caller
from kit.contracts.households import AssessmentRecordedV1
from kit.db import unavailable, utc_now
from kit.errors import InvalidInput, NotFound

log = structlog.get_logger()
Fingerprint = tuple[int, int, int, int]
MAX_ATTEMPTS = 5  # tries of one run while events keep arriving


class JobNotFound(NotFound):
    def __init__(self, job_id: UUID) -> None:
        super().__init__(f"Recalculation job {job_id} does not exist.")


async def request(session: AsyncSession, round_id: UUID, caller: Caller) -> RecalculationJob:
    """Queue a recalculation of the round within the caller's scope; a worker picks it up."""
    # Rounds are known here from their surveys: one without any has nothing to recalculate.
    if await figures_service.get_round(session, round_id) is None:
        raise InvalidInput.field(
            ["body", "round_id"],
            f"Round {round_id} is unknown to the indicators service: no survey of it has arrived.",
        )
    scope = list(caller.unit_scope) if caller.unit_scope is not None else None
    job = RecalculationJob(round_id=round_id, unit_scope=scope)
    session.add(job)
    await session.flush()
    return job


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], *, lease_seconds: float
) -> RecalculationJob | None:
    """The next recalculation to run (`indicators.jobs`): a recalculation starts from the
    service's own copy, so a worker that takes over simply runs it again."""
    return await jobs.claim_next(sessionmaker, RecalculationJob, lease_seconds=lease_seconds)


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: UUID,
    *,
    batch_size: int = 2000,
    record_keys: RecordKeys | None = None,
) -> None:
    """Run a claimed job to the end, recording success or the error.

    `record_keys` must be the consumer's (by default both take the environment's secret)."""
    keys = record_keys or default_record_keys()
    try:
        for _ in range(MAX_ATTEMPTS):
            if await _attempt(sessionmaker, job_id, batch_size, keys):
                return
            log.info("recalculation.restarted", job_id=str(job_id))
        raise RuntimeError(f"events kept arriving: gave up after {MAX_ATTEMPTS} attempts")
    except Exception as error:
        if unavailable(error):
            # Not the job's fault: it stays running, its lease runs out, and it is taken again.
            raise
        log.exception("recalculation.failed", job_id=str(job_id))
        async with sessionmaker() as session, session.begin():
            job = await session.get(RecalculationJob, job_id)
            assert job is not None
            job.status, job.error, job.finished_at = JobStatus.failed, repr(error), utc_now()


@dataclass
class _Result:
    """What phase one computed: the round's counters and the classifications that changed."""

    round_id: UUID
    fingerprint: Fingerprint
    record_keys: RecordKeys
    scope: frozenset[str] | None
    totals: Tally[CounterKey] = field(default_factory=Tally)
    communes: dict[str, tuple[list[str], Counts]] = field(default_factory=dict)
    changed: list[tuple[AssessmentRecordedV1, Classification]] = field(default_factory=list)
    households: int = 0


async def _attempt(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: UUID,
    batch_size: int,
    record_keys: RecordKeys,
) -> bool:
    """One try: False when an event arrived meanwhile and the work must start over."""
    async with sessionmaker() as session:
        job = await session.get(RecalculationJob, job_id)
        assert job is not None
        round_id = job.round_id
        scope = frozenset(job.unit_scope) if job.unit_scope is not None else None
        result = _Result(round_id, await _fingerprint(session, round_id), record_keys, scope)
    await _classify_round(sessionmaker, job_id, round_id, result, batch_size)
    await _add_populations(sessionmaker, round_id, result)
    return await _swap_in(sessionmaker, job_id, round_id, result)


async def _classify_round(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: UUID,
    round_id: UUID,
    result: _Result,
    batch_size: int,
) -> None:
    """Phase one, without locks: classify the round set-wise in the database (the counters of
    each commune, and which stored classifications differ), then re-classify with the Python
    engine only the households that differ, for their full results and explanations."""
    total = result.fingerprint[0]
    await _progress(sessionmaker, job_id, total=total, done=0)
    async with sessionmaker() as session, session.begin():
        # Facts missing or older than their copy (recorded before the facts tables existed) and
        # record keys of another secret are brought in line first, in Python, once.
        await facts_service.refresh(session, round_id, result.record_keys)
    scope = None if result.scope is None else sorted(result.scope)
    differing: list[setwise.Outcome] = []
    async with sessionmaker() as session:
        standard_ids = await setwise.standards_in_round(session, round_id)
    for standard_id in standard_ids:
        await _confirm_unchanged(sessionmaker, round_id, standard_id, scope)
    async with sessionmaker() as session:
        for standard_id in standard_ids:
            standard = get_standard(standard_id)
            households = setwise.households_of(round_id, standard_id=standard_id, unit_scope=scope)
            for path, counts in (
                await setwise.commune_counts(session, standard, households)
            ).items():
                _add_to_path(result, path, counts)
            differing += await setwise.changed(session, standard, households)
    await _progress(sessionmaker, job_id, total=total, done=total)
    for start in range(0, len(differing), batch_size):
        await _reclassify(sessionmaker, differing[start : start + batch_size], result)
    result.households = total


async def _confirm_unchanged(
    sessionmaker: async_sessionmaker[AsyncSession],
    round_id: UUID,
    standard_id: str,
    scope: list[str] | None,
) -> None:
    """Mark the households whose stored result this standard gives again, so that this run and
    the next compare the stored JSON of the others only. Only a shortcut: a failure (say, a
    deadlock with a consumer rewriting the same facts) leaves the comparison to `changed`."""
    try:
        async with sessionmaker() as session, session.begin():
            await setwise.confirm_unchanged(
                session,
                get_standard(standard_id),
                setwise.households_of(round_id, standard_id=standard_id, unit_scope=scope),
            )
    except DBAPIError as error:
        if unavailable(error):
            raise
        log.warning("recalculation.confirm_skipped", round_id=str(round_id), error=repr(error))


async def _reclassify(
    sessionmaker: async_sessionmaker[AsyncSession],
    outcomes: Sequence[setwise.Outcome],
    result: _Result,
) -> None:
    """The engine's full results for households whose stored ones differ; the engine being the
    reference, a household it classifies otherwise than the statement fails the job (counters
    from the statement would not match the stored results)."""
    by_id = {outcome.assessment_id: outcome for outcome in outcomes}
    async with sessionmaker() as session:
        statement = select(AssessmentCopy.facts).where(col(AssessmentCopy.assessment_id).in_(by_id))
        copies = (await session.exec(statement)).all()
    for facts in copies:
        assessment = AssessmentRecordedV1.model_validate(facts)
        classification = classify(assessment, get_standard(assessment.standard_id))
        outcome = by_id[assessment.assessment_id]
        engine = (
            classification.household_class.value,
            tuple(sorted(indicator.key for indicator in classification.deprived)),
        )
        if engine != (outcome.household_class, outcome.deprived):
            raise RuntimeError(
                f"set-wise classification of assessment {assessment.assessment_id} gave "
                f"{(outcome.household_class, outcome.deprived)}, the engine {engine}"
            )
        result.changed.append((assessment, classification))


async def _add_populations(
    sessionmaker: async_sessionmaker[AsyncSession], round_id: UUID, result: _Result
) -> None:
    """The denominators, and the flag of surveyed communes that have none."""
    async with sessionmaker() as session:
        statement = select(PopulationCopy).where(PopulationCopy.round_id == round_id)
        populations = (await session.exec(statement)).all()
    for population in populations:
        facts = population.facts
        counts = population_counts(
            area=facts["area"],
            resident_households=facts["resident_households"],
            resident_persons=facts["resident_persons"],
        )
        _add_to_path(result, facts["unit_path"], counts)
    for path, commune_counts in result.communes.values():
        flag = missing_population_flag(commune_counts.values)
        on_units(round_id, path, flag_change(flag), into=result.totals)


async def _swap_in(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID, round_id: UUID, result: _Result
) -> bool:
    """Phase two, under the round's lock: replace classifications and counters at once.

    The classifications that changed go through the consumer's own write path, counters aside:
    those are replaced by the totals just after."""
    async with sessionmaker() as session, session.begin():
        await lock_round(session, round_id, exclusive=True)
        if await _fingerprint(session, round_id) != result.fingerprint:
            return False
        before = await figures_service.round_totals(session, round_id)
        reclassified = [
            classification_service.Classified(assessment, classification)
            for assessment, classification in result.changed
        ]
        changed = await classification_service.apply(
            session, reclassified, result.record_keys, counters=False
        )
        if result.scope is None:
            await figures_service.replace_round(session, round_id, result.totals)
        else:
            await _replace_within(session, round_id, result.scope, result.totals)
        after = await figures_service.round_totals(session, round_id)
        job = await session.get(RecalculationJob, job_id)
        assert job is not None
        job.status, job.finished_at = JobStatus.succeeded, utc_now()
        job.done, job.changed_classes = result.households, changed
        job.figures_changed = sum(
            1 for key in before.keys() | after.keys() if before.get(key) != after.get(key)
        )
    log.info(
        "recalculation.succeeded",
        job_id=str(job_id),
        households=result.households,
        changed_classes=changed,
    )
    return True


async def _replace_within(
    session: AsyncSession,
    round_id: UUID,
    scope: frozenset[str],
    new: Tally[CounterKey],
) -> None:
    """Set the counters of the scope's subtrees to `new`, and move the units above each scope
    unit by the same differences as the unit itself: the rest of the round is left as it is."""
    current = await figures_service.round_tally(session, round_id)
    above: dict[str, list[str]] = {}
    for unit in sorted(scope):
        known = await figures_service.unit_path(session, round_id, unit)
        # A unit never seen in an event has no counters; one inside another scope unit is
        # recalculated as part of it.
        if known is not None and not scope.intersection(known[1][:-1]):
            above[unit] = known[1][:-1]
    subtree = set(above)
    pending = list(above)
    while pending:
        children = await figures_service.children(session, round_id, pending.pop())
        subtree.update(children)
        pending.extend(children)
    differences: Tally[CounterKey] = Tally()
    differences.update(new)
    differences.subtract(current)
    by_unit: dict[str, Counts] = {}
    for (_, unit, metric), value, key_sum in differences.items():
        if unit in subtree:
            by_unit.setdefault(unit, Tally()).add(metric, value, key_sum)
    changes: Tally[CounterKey] = Tally()
    for unit, unit_differences in by_unit.items():
        on_units(round_id, (*above.get(unit, ()), unit), unit_differences, into=changes)
    await figures_service.apply_changes(session, changes, {})


def _add_to_path(result: _Result, full_path: Sequence[str], counts: Counts) -> None:
    """`counts` in the totals of the path's units within the scope, and in its commune's."""
    path = setwise.within(result.scope, full_path)
    if path is None:
        return
    on_units(result.round_id, path, counts, into=result.totals)
    commune = result.communes.setdefault(path[-1], (list(path), Tally()))
    commune[1].update(counts)


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
        job.total, job.done, job.heartbeat_at = total, done, utc_now()


async def get(session: AsyncSession, job_id: UUID) -> RecalculationJob:
    job = await session.get(RecalculationJob, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job
