"""Keeps each household's classification and its units' counters in step with its assessment."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Table, bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators import announcements
from indicators.announcements import Announcement, own_correlation_id
from indicators.classification.engine import classify
from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.classification.schemas import Classification
from indicators.db import outbox
from indicators.facts import service as facts_service
from indicators.figures import service as figures_service
from indicators.figures.cell_key import RecordKeys
from indicators.figures.counts import (
    CounterKey,
    Counts,
    Tally,
    household_counts,
    on_units,
)
from indicators.figures.service import Path
from indicators.left_behind import service as left_behind_service
from indicators.standard.exceptions import StandardNotFound
from indicators.standard.service import get_standard
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.bulk import insert_rows
from kit.contracts import Envelope, Event
from kit.contracts.households import AssessmentRecordedV1, AssessmentsRecordedV1
from kit.contracts.indicators import (
    HouseholdClassChangedV1,
    HouseholdClassesChangedV1,
    VersionedClassChange,
)
from kit.db import table_of, utc_now
from kit.logging import current_request_id
from kit.messaging import PoisonMessage, stage_many

log = structlog.get_logger()


Delivery = tuple[Envelope, AssessmentRecordedV1 | AssessmentsRecordedV1]


@dataclass(frozen=True, slots=True)
class Version:
    """The event that brought one version of an assessment's facts."""

    sequence: int  # the assessment's version: later facts are larger
    facts: Mapping[str, Any]  # as received: kept as the service's copy of the assessment
    message_id: UUID
    correlation_id: str | None


@dataclass(frozen=True, slots=True)
class Classified:
    """An assessment's facts and their classification, to apply."""

    assessment: AssessmentRecordedV1
    classification: Classification
    # None: the stored copy's facts classified again (a recalculation, under the round's lock).
    version: Version | None = None


def received(deliveries: Sequence[Delivery]) -> list[tuple[AssessmentRecordedV1, Version]]:
    """Each survey of the deliveries with its version, in delivery order: a batch message
    (`households.assessments.recorded.v1`) gives its surveys as their own events would."""
    surveys: list[tuple[AssessmentRecordedV1, Version]] = []
    for envelope, event in deliveries:
        if isinstance(event, AssessmentRecordedV1):
            version = Version(
                envelope.sequence, envelope.data, envelope.id, envelope.correlation_id
            )
            surveys.append((event, version))
            continue
        for item, facts in zip(event.assessments, envelope.data["assessments"], strict=True):
            version = Version(
                item.sequence, facts["assessment"], envelope.id, envelope.correlation_id
            )
            surveys.append((item.assessment, version))
    return surveys


async def record_assessments(
    session: AsyncSession,
    surveys: Sequence[tuple[AssessmentRecordedV1, Version]],
    record_keys: RecordKeys,
) -> None:
    """Classify the surveys the consumer received and apply them (`apply`)."""
    results = []
    for assessment, version in surveys:
        try:
            classification = classify(assessment, get_standard(assessment.standard_id))
        except (StandardNotFound, ValueError) as unusable:
            # An unknown or inapplicable standard: retrying cannot help. The message waits in
            # the dead-letter queue until the standard ships, then is replayed.
            raise PoisonMessage(str(unusable)) from unusable
        results.append(Classified(assessment, classification, version))
    await apply(session, results, record_keys)


async def apply(
    session: AsyncSession,
    results: Sequence[Classified],
    record_keys: RecordKeys,
    *,
    counters: bool = True,
) -> int:
    """Apply classification results as applying them one by one in this order would, in a few
    statements: save the copies and classifications, move the counters of every unit on each
    household's path (old classification out, new in), announce class changes through the
    outbox. The one write path of classifications; the number of class changes announced.

    A result of an event (`version` set) is skipped unless newer than the copy applied so far.
    One without (a recalculation's) classifies the copy as stored and leaves it as it is.
    `counters=False` leaves the counters alone, for a caller that replaces them with totals.
    """
    announced = 0
    for start in range(0, len(results), APPLIED_AT_ONCE):
        some = results[start : start + APPLIED_AT_ONCE]
        announced += await _apply_some(session, some, record_keys, counters=counters)
    return announced


# Assessments read and written by one round of statements: a recalculation's million, or a
# few batch messages of thousands, stay within a statement's bound parameters.
APPLIED_AT_ONCE = 5000


async def _apply_some(
    session: AsyncSession,
    results: Sequence[Classified],
    record_keys: RecordKeys,
    *,
    counters: bool,
) -> int:
    copies, rows = table_of(AssessmentCopy), table_of(HouseholdClassification)
    ids = sorted({result.assessment.assessment_id for result in results})
    state = await _applied(session, ids, record_keys)
    copied = {id_ for id_, applied in state.items() if applied.sequence is not None}
    classified = {id_ for id_, applied in state.items() if applied.household_class is not None}
    now = utc_now()
    copy_rows: dict[UUID, dict[str, Any]] = {}
    newest: dict[UUID, facts_service.Version] = {}  # the copies' facts, as columns and rows
    classification_rows: dict[UUID, dict[str, Any]] = {}
    by_path: dict[tuple[UUID, Path], Counts] = {}  # summed per path, spread to its units below
    communes: dict[tuple[UUID, str], Path] = {}
    rounds: dict[UUID, figures_service.RoundFacts] = {}
    class_changes: list[Announcement] = []
    information: list[left_behind_service.Surveyed] = []
    # Surveys applied together (a batch message's, or single events delivered together from a
    # backlog) and a recalculation's announce their changes in batch messages; a survey applied
    # alone, as an interactive write usually arrives, in its own event.
    together = len(results) > 1
    for result in results:
        event, version = result.assessment, result.version
        batched = version is None or together
        correlation_id = current_request_id() if version is None else version.correlation_id
        applied = state.setdefault(event.assessment_id, _Applied())
        if version is None:
            if applied.sequence is None:  # no copy: nothing was classified from it
                continue
        elif applied.sequence is not None and applied.sequence >= version.sequence:
            # An older or repeated fact arriving late: the newer one is already applied.
            log.info(
                "assessment.stale_skipped",
                sequence=version.sequence,
                applied=applied.sequence,
                message_id=str(version.message_id),
            )
            continue
        path = tuple(event.unit_path)
        new_counts = counts_of(
            result.classification,
            persons=len(event.members),
            record_key=record_keys(event.household_id),
        )
        if applied.household_class is not None:  # the household moved commune, or not
            old_key = (applied.round_id, applied.unit_path)
            by_path.setdefault(old_key, Tally()).subtract(applied.counts)
            communes[(applied.round_id, applied.unit_path[-1])] = applied.unit_path
        by_path.setdefault((event.round_id, path), Tally()).update(new_counts)
        communes[(event.round_id, path[-1])] = path
        rounds.setdefault(
            event.round_id, (event.standard_id, event.round_year, event.reference_date)
        )
        if version is not None:
            copy_rows[event.assessment_id] = {
                "assessment_id": event.assessment_id,
                "household_id": event.household_id,
                "round_id": event.round_id,
                "sequence": version.sequence,
                "facts": version.facts,
                "received_at": now,
            }
            standard = get_standard(result.classification.standard_id)
            newest[event.assessment_id] = (version.sequence, event, standard)
        columns = _columns(event, result.classification)
        previous_class = applied.household_class
        revision = applied.revision
        if previous_class != columns["household_class"]:
            revision += 1
            change = _class_change(
                {"household_id": event.household_id, "round_id": event.round_id, **columns},
                previous_class,
            )
            subject = f"{event.household_id}:{event.round_id}"
            class_changes.append(Announcement(change, subject, revision, correlation_id, batched))
        classification_rows[event.assessment_id] = {
            "assessment_id": event.assessment_id,
            "household_id": event.household_id,
            "round_id": event.round_id,
            "revision": revision,
            "classified_at": now,
            "record_key": record_keys(event.household_id),
            **columns,
        }
        information.append(
            left_behind_service.surveyed(
                event, result.classification, correlation_id, batched=batched
            )
        )
        state[event.assessment_id] = _Applied(
            sequence=applied.sequence if version is None else version.sequence,
            round_id=event.round_id,
            unit_path=path,
            household_class=columns["household_class"],
            counts=new_counts,
            revision=revision,
        )
    if not classification_rows:
        return 0
    await _insert_or_update(session, copies, copy_rows, copied)
    # Facts are written with a copy and a classification: an assessment with neither (a lost copy
    # leaves its classification, and its facts) has none to replace.
    first = newest.keys() - copied - classified
    await facts_service.store(session, newest.values(), record_keys, first=first)
    await _insert_or_update(session, rows, classification_rows, classified)
    await figures_service.remember_units(
        session, {(round_id, path) for (round_id, _), path in communes.items()}
    )
    await figures_service.remember_rounds(session, rounds)
    if counters:
        changes: Tally[CounterKey] = Tally()
        for (round_id, unit_path), counts in by_path.items():
            on_units(round_id, unit_path, counts, into=changes)
        await figures_service.apply_changes(session, changes, communes)
    await stage_many(session, outbox, announcements.envelopes(class_changes, _class_changes))
    # Information deprivation without support puts a household on its round's left-behind list.
    await left_behind_service.classified(session, information)
    return len(class_changes)


NO_ROUND = UUID(int=0)


@dataclass
class _Applied:
    """An assessment as applied so far: stored, or by an earlier result of the batch."""

    sequence: int | None = None  # of its copy; None: no copy yet
    round_id: UUID = NO_ROUND
    unit_path: Path = ()
    household_class: str | None = None  # None: not classified yet
    counts: Counts = field(default_factory=Counts)
    revision: int = 0


async def _applied(
    session: AsyncSession, ids: Sequence[UUID], record_keys: RecordKeys
) -> dict[UUID, _Applied]:
    """The stored state of these assessments, their copies locked (in one order: no deadlock)."""
    copies = table_of(AssessmentCopy)
    locked = (
        select(copies.c.assessment_id, copies.c.sequence)
        .where(copies.c.assessment_id.in_(ids))
        .order_by(copies.c.assessment_id)
        .with_for_update()
    )
    state = {
        assessment_id: _Applied(sequence=sequence)
        for assessment_id, sequence in (await session.exec(locked)).all()
    }
    classified = select(HouseholdClassification).where(
        col(HouseholdClassification.assessment_id).in_(ids)
    )
    for row in (await session.exec(classified)).all():
        applied = state.setdefault(row.assessment_id, _Applied())
        applied.round_id, applied.unit_path = row.round_id, tuple(row.unit_path)
        applied.household_class, applied.revision = row.household_class, row.revision
        applied.counts = counts_of_row(row, record_keys)
    return state


async def _insert_or_update(
    session: AsyncSession, table: Table, rows: Mapping[UUID, dict[str, Any]], stored: set[UUID]
) -> None:
    """Insert the new rows and update the stored ones (by `assessment_id`), a statement each.

    New rows are written together (`kit.bulk`: COPY on PostgreSQL); a row another consumer
    inserted meanwhile fails the batch, which is retried. Rows go in key order, so that two
    consumers' batches lock them in one order: no deadlock.
    """
    ordered = sorted(rows.items())
    await insert_rows(session, table, [row for key, row in ordered if key not in stored])
    changed = [
        {"b_assessment_id": key, **{k: v for k, v in row.items() if k not in KEPT}}
        for key, row in ordered
        if key in stored
    ]
    if changed:
        by_key = update(table).where(table.c.assessment_id == bindparam("b_assessment_id"))
        await session.exec(by_key, params=changed)


KEPT = ("assessment_id", "household_id", "round_id")  # never changed by a newer version


def counts_of(result: Classification, *, persons: int, record_key: int) -> Counts:
    return household_counts(
        household_class=result.household_class,
        area=result.area,
        persons=persons,
        deprived=[{"key": d.key, "dimension": d.dimension} for d in result.deprived],
        record_key=record_key,
    )


def counts_of_row(row: HouseholdClassification, record_keys: RecordKeys) -> Counts:
    return household_counts(
        household_class=row.household_class,
        area=row.area,
        persons=row.persons,
        deprived=row.result["deprived"],
        record_key=record_keys(row.household_id),
    )


def _class_change(row: Mapping[str, Any], previous_class: str | None) -> HouseholdClassChangedV1:
    return HouseholdClassChangedV1(
        household_id=row["household_id"],
        household_code=row["household_code"],
        round_id=row["round_id"],
        standard_id=row["standard_id"],
        commune_code=row["commune_code"],
        commune_name=row["commune_name"],
        unit_path=row["unit_path"],
        previous_class=previous_class,
        new_class=row["household_class"],
        deprivation_count=row["deprivation_count"],
    )


def _class_changes(some: Sequence[Announcement]) -> tuple[Event, str]:
    first = some[0].event
    assert isinstance(first, HouseholdClassChangedV1)
    changes = [
        VersionedClassChange(
            sequence=a.sequence, change=a.event, correlation_id=own_correlation_id(a, some)
        )
        for a in some
    ]
    subject = f"class_changes:{first.household_id}:{first.round_id}"
    return HouseholdClassesChangedV1(changes=changes), subject


async def get(
    session: AsyncSession, round_id: UUID, household_id: UUID
) -> HouseholdClassification | None:
    statement = select(HouseholdClassification).where(
        HouseholdClassification.round_id == round_id,
        HouseholdClassification.household_id == household_id,
    )
    return (await session.exec(statement)).first()


UNIT_COLUMNS = (
    HouseholdClassification.province_code,
    HouseholdClassification.district_code,
    HouseholdClassification.commune_code,
)


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    round_id: UUID,
    unit_code: str | None,
    household_class: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[HouseholdClassification], int]:
    statement = select(HouseholdClassification).where(
        HouseholdClassification.round_id == round_id, in_scope(caller, UNIT_COLUMNS)
    )
    if household_class is not None:
        statement = statement.where(HouseholdClassification.household_class == household_class)
    if unit_code is not None:
        statement = statement.where(in_unit(unit_code, UNIT_COLUMNS))
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(HouseholdClassification.household_code)).offset(offset)
    return (await session.exec(page.limit(limit))).all(), total


def _columns(assessment: AssessmentRecordedV1, result: Classification) -> dict[str, Any]:
    return {
        "household_code": assessment.household_code,
        "standard_id": result.standard_id,
        "province_code": assessment.unit_path[0],
        "district_code": assessment.unit_path[1] if len(assessment.unit_path) > 2 else "",
        "commune_code": assessment.commune_code,
        "commune_name": assessment.commune_name,
        "unit_path": list(assessment.unit_path),
        "area": result.area.value,
        "persons": len(assessment.members),
        "household_class": result.household_class.value,
        "deprivation_count": result.deprivation_count,
        "result": result.model_dump(mode="json"),
    }
