"""Keeps each household's classification and its units' counters in step with its assessment."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.engine import classify
from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.classification.schemas import Classification
from indicators.db import outbox
from indicators.figures import service as figures_service
from indicators.figures.counts import Counts, difference, household_counts
from indicators.standard.service import get_standard
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.contracts import Envelope
from kit.contracts.households import AssessmentRecordedV1
from kit.contracts.indicators import HouseholdClassChangedV1
from kit.db import utc_now
from kit.logging import current_request_id
from kit.messaging import stage

log = structlog.get_logger()


async def record_assessment(
    session: AsyncSession, envelope: Envelope, assessment: AssessmentRecordedV1
) -> None:
    """Keep the newest version of an assessment, classify it and update its units' counters."""
    copy = await session.get(AssessmentCopy, assessment.assessment_id, with_for_update=True)
    if copy is not None and copy.sequence >= envelope.sequence:
        # An older or repeated fact arriving late: the newer one is already applied.
        log.info("assessment.stale_skipped", sequence=envelope.sequence, applied=copy.sequence)
        return
    if copy is None:
        copy = AssessmentCopy(
            assessment_id=assessment.assessment_id,
            household_id=assessment.household_id,
            round_id=assessment.round_id,
            sequence=envelope.sequence,
            facts=envelope.data,
        )
        session.add(copy)
    else:
        copy.sequence, copy.facts, copy.received_at = envelope.sequence, envelope.data, utc_now()
    result = classify(assessment, get_standard(assessment.standard_id))
    await store(session, assessment, result)


async def store(
    session: AsyncSession, assessment: AssessmentRecordedV1, result: Classification
) -> bool:
    """Save the classification, apply its counters' change; True when the class changed."""
    existing = await session.get(HouseholdClassification, assessment.assessment_id)
    new_counts = counts_of(result, persons=len(assessment.members))
    await figures_service.remember_units(session, assessment.unit_path)
    await figures_service.remember_round(
        session, assessment.round_id, standard_id=assessment.standard_id, year=assessment.round_year
    )
    if existing is None:
        await figures_service.apply(session, assessment.round_id, assessment.unit_path, new_counts)
        existing = HouseholdClassification(
            assessment_id=assessment.assessment_id,
            household_id=assessment.household_id,
            round_id=assessment.round_id,
            revision=0,
            **_columns(assessment, result),
        )
        session.add(existing)
        previous_class = None
    else:
        old_counts = counts_of_row(existing)
        if existing.unit_path == assessment.unit_path:
            await figures_service.apply(
                session,
                assessment.round_id,
                assessment.unit_path,
                difference(new_counts, old_counts),
            )
        else:  # the household moved commune between two versions of its survey
            await figures_service.apply(
                session, existing.round_id, existing.unit_path, difference(Counts(), old_counts)
            )
            await figures_service.apply(
                session, assessment.round_id, assessment.unit_path, new_counts
            )
        previous_class = existing.household_class
        for field, value in _columns(assessment, result).items():
            setattr(existing, field, value)
        existing.classified_at = utc_now()
    if previous_class == result.household_class:
        return False
    existing.revision += 1
    await stage(session, outbox, class_changed(existing, previous_class))
    return True


def counts_of(result: Classification, *, persons: int) -> Counts:
    return household_counts(
        household_class=result.household_class,
        area=result.area,
        persons=persons,
        deprived=[{"key": d.key, "dimension": d.dimension} for d in result.deprived],
    )


def counts_of_row(row: HouseholdClassification) -> Counts:
    return household_counts(
        household_class=row.household_class,
        area=row.area,
        persons=row.persons,
        deprived=row.result["deprived"],
    )


def class_changed(row: HouseholdClassification, previous_class: str | None) -> Envelope:
    event = HouseholdClassChangedV1(
        household_id=row.household_id,
        household_code=row.household_code,
        round_id=row.round_id,
        standard_id=row.standard_id,
        commune_code=row.commune_code,
        commune_name=row.commune_name,
        unit_path=row.unit_path,
        previous_class=previous_class,
        new_class=row.household_class,
        deprivation_count=row.deprivation_count,
    )
    return Envelope.wrap(
        event,
        producer="indicators",
        subject=f"{row.household_id}:{row.round_id}",
        sequence=row.revision,
        correlation_id=current_request_id(),
    )


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
        "district_code": assessment.unit_path[1],
        "commune_code": assessment.commune_code,
        "commune_name": assessment.commune_name,
        "unit_path": list(assessment.unit_path),
        "area": result.area.value,
        "persons": len(assessment.members),
        "household_class": result.household_class.value,
        "deprivation_count": result.deprivation_count,
        "result": result.model_dump(mode="json"),
    }
