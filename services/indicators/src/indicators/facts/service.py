"""Writing the facts tables beside the assessment copy, and rebuilding them from it."""

import hashlib
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import bindparam, delete, or_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import AssessmentCopy
from indicators.facts.models import AssessmentFacts, MemberFact
from indicators.figures.cell_key import RecordKeys
from indicators.standard.schemas import Standard
from kit.bulk import insert_rows
from kit.contracts.households import AssessmentRecordedV1
from kit.db import table_of

log = structlog.get_logger()

CHUNK = 2000  # assessments per DELETE: well under SQLite's limit of bound parameters
# An assessment, the sequence of its copy and, when it was just classified, the standard used.
Version = tuple[int, AssessmentRecordedV1] | tuple[int, AssessmentRecordedV1, Standard]


def unit_path_key(unit_path: Sequence[str]) -> str:
    """A unit path as stored: each code between slashes, so "/243/" matches one unit only."""
    return "/" + "/".join(unit_path) + "/"


def unit_path_of(key: str) -> list[str]:
    return key.strip("/").split("/")


def devices_key(devices: Iterable[str]) -> str:
    return "|" + "|".join(sorted(set(devices))) + "|"


def standard_digest(standard: Standard) -> str:
    """Names a standard's whole content: a corrected standard under the same id differs."""
    return hashlib.sha256(standard.model_dump_json().encode()).hexdigest()[:16]


def key_check(record_keys: RecordKeys) -> str:
    """Names the secret record keys were computed under, without revealing it."""
    return hashlib.sha256(b"record-key-check:" + record_keys.secret).hexdigest()[:16]


async def store(
    session: AsyncSession,
    versions: Iterable[Version],
    record_keys: RecordKeys,
    *,
    first: AbstractSet[UUID] = frozenset(),
) -> None:
    """Replace the facts of these assessments by those of the given versions (one per id).

    `first` names assessments seen for the first time, which have no facts to replace: a round's
    surveys mostly are, and skipping their delete keeps a batch from searching tables that grow
    with the round."""
    check = key_check(record_keys)
    households: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    digests: dict[int, str] = {}  # by standard object: a batch has one or two
    for version in versions:
        sequence, event = version[0], version[1]
        row = _household_row(sequence, event, record_keys(event.household_id), check)
        if len(version) == 3:
            standard = version[2]
            if id(standard) not in digests:
                digests[id(standard)] = standard_digest(standard)
            row["classified_under"] = digests[id(standard)]
        else:
            row["classified_under"] = None  # every row of a COPY names the same columns
        households.append(row)
        members.extend(_member_rows(event))
    facts, people = table_of(AssessmentFacts), table_of(MemberFact)
    ids = [row["assessment_id"] for row in households if row["assessment_id"] not in first]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        await session.exec(delete(people).where(people.c.assessment_id.in_(chunk)))
        await session.exec(delete(facts).where(facts.c.assessment_id.in_(chunk)))
    await insert_rows(session, facts, households)
    await insert_rows(session, people, members)


async def refresh(session: AsyncSession, round_id: UUID, record_keys: RecordKeys) -> int:
    """Bring the round's facts in line with its copies: rebuild those missing or older than
    their copy (copies recorded before the facts tables existed, or written by a path that did
    not store facts) and recompute record keys computed under another secret. Returns how many
    assessments were touched; 0 when everything was already in line (the usual case)."""
    touched = 0
    copies, facts = table_of(AssessmentCopy), table_of(AssessmentFacts)
    behind = (
        select(copies.c.sequence, copies.c.facts)
        .select_from(copies.outerjoin(facts, facts.c.assessment_id == copies.c.assessment_id))
        .where(
            copies.c.round_id == round_id,
            or_(facts.c.assessment_id.is_(None), facts.c.sequence != copies.c.sequence),
        )
    )
    stale = (await session.exec(behind)).all()
    for start in range(0, len(stale), CHUNK):
        versions = [
            (sequence, AssessmentRecordedV1.model_validate(data))
            for sequence, data in stale[start : start + CHUNK]
        ]
        await store(session, versions, record_keys)
    touched += len(stale)

    check = key_check(record_keys)
    rekey = select(facts.c.assessment_id, facts.c.household_id).where(
        facts.c.round_id == round_id,
        or_(facts.c.record_key_check.is_(None), facts.c.record_key_check != check),
    )
    keys = [
        {"b_id": assessment_id, "record_key": record_keys(household_id), "record_key_check": check}
        for assessment_id, household_id in (await session.exec(rekey)).all()
    ]
    if keys:
        by_id = update(facts).where(facts.c.assessment_id == bindparam("b_id"))
        await session.exec(by_id, params=keys)
    touched += len(keys)
    if touched:
        log.info("facts.refreshed", round_id=str(round_id), rebuilt=len(stale), rekeyed=len(keys))
    return touched


def _household_row(
    sequence: int, event: AssessmentRecordedV1, record_key: int, check: str
) -> dict[str, Any]:
    dwelling = event.dwelling
    return {
        "assessment_id": event.assessment_id,
        "round_id": event.round_id,
        "household_id": event.household_id,
        "sequence": sequence,
        "standard_id": event.standard_id,
        "unit_path": unit_path_key(event.unit_path),
        "area": event.area.value,
        "persons": len(event.members),
        "has_dwelling": dwelling.has_dwelling,
        "walls_durable": dwelling.walls_durable,
        "columns_durable": dwelling.columns_durable,
        "roof_durable": dwelling.roof_durable,
        "floor_area_m2": dwelling.floor_area_m2,
        "water_source": event.water_source.value,
        "latrine": event.latrine.value,
        "internet_use": event.internet_use,
        "devices": devices_key(device.value for device in event.devices),
        "income_score_a": event.income_score_a,
        "monthly_income_per_person": event.monthly_income_per_person,
        "record_key": record_key,
        "record_key_check": check,
    }


def _member_rows(event: AssessmentRecordedV1) -> list[dict[str, Any]]:
    return [
        {
            "assessment_id": event.assessment_id,
            "position": position,
            "member_no": member.member_no,
            "age_years": member.age_years,
            "sex": member.sex.value,
            "working_status": member.working_status.value,
            "has_labour_contract": member.has_labour_contract,
            "receives_pension_or_allowance": member.receives_pension_or_allowance,
            "disability": member.disability.value,
            "has_health_insurance": member.has_health_insurance,
            "attending_school": member.attending_school,
            "school_level": None if member.school_level is None else member.school_level.value,
            "highest_qualification": member.highest_qualification.value,
            "stunted": member.stunted,
            "underweight": member.underweight,
        }
        for position, member in enumerate(event.members)
    ]
