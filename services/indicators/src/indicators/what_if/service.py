"""What-if: a round's households classified under a draft standard, nothing official touched.

A draft is a published standard with changes (other income lines, cut-offs, indicator
thresholds), validated as the shipped standards are. A worker runs the job: one set-wise
statement (`classification.setwise.class_moves`, the standard's rules compiled to SQL, checked
against the Python engine by the property tests) classifies the round's households under the
draft and groups them by commune, official class (their stored classification) and draft class;
those groups are counted on every unit of their path, and the answer is the counts per unit with
the resident population, so the rates can be set side by side.
"""

from collections import Counter
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import structlog
from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators import jobs
from indicators.classification import setwise
from indicators.classification.models import AssessmentCopy
from indicators.figures import references
from indicators.figures import service as figures_service
from indicators.figures.cell_key import RecordKeys
from indicators.figures.counts import RESIDENT_HOUSEHOLDS, RESIDENT_PERSONS
from indicators.figures.disclosure import CLASSES
from indicators.figures.models import PopulationCopy
from indicators.recalculation.models import JobStatus
from indicators.standard.exceptions import StandardNotFound
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from indicators.what_if.models import WhatIfJob
from kit.auth import Caller
from kit.db import unavailable, utc_now
from kit.errors import FieldError, InvalidInput, NotFound

log = structlog.get_logger()


def draft_standard(base_standard_id: str, changes: Mapping[str, Any]) -> Standard:
    """The base standard with `changes` merged in, validated; 422 naming each bad field.

    Objects merge key by key; lists are replaced, except `indicators`, which may be given as an
    object by indicator key whose entries merge into those indicators."""
    try:
        base = get_standard(base_standard_id)
    except StandardNotFound:
        raise InvalidInput.field(
            ["body", "base_standard_id"], f"No published standard {base_standard_id}."
        ) from None
    merged = base.model_dump(mode="json")
    changes = dict(changes)
    indicators = changes.pop("indicators", None)
    if isinstance(indicators, Mapping):
        by_key = {item["key"]: item for item in merged["indicators"]}
        for key, change in indicators.items():
            if key not in by_key or not isinstance(change, Mapping):
                raise InvalidInput.field(
                    ["body", "changes", "indicators", key],
                    f"{base_standard_id} has no indicator {key} (or the change is not an object).",
                )
            by_key[key] = _merge(by_key[key], change)
        merged["indicators"] = list(by_key.values())
    elif indicators is not None:
        merged["indicators"] = indicators
    merged = _merge(merged, changes)
    try:
        return Standard.model_validate(merged)
    except ValidationError as error:
        raise InvalidInput(
            f"The draft standard does not validate ({error.error_count()} problems).",
            errors=[
                FieldError(loc=["body", "changes", *map(str, problem["loc"])], msg=problem["msg"])
                for problem in error.errors()
            ],
        ) from None


def _merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def request(
    session: AsyncSession,
    caller: Caller,
    round_id: UUID,
    base_standard_id: str,
    changes: Mapping[str, Any],
) -> WhatIfJob:
    draft = draft_standard(base_standard_id, changes)
    if await figures_service.get_round(session, round_id) is None:
        raise InvalidInput.field(["body", "round_id"], f"Round {round_id} has no surveys here.")
    scope = list(caller.unit_scope) if caller.unit_scope is not None else None
    job = WhatIfJob(
        round_id=round_id,
        unit_scope=scope,
        base_standard_id=base_standard_id,
        draft=draft.model_dump(mode="json"),
        requested_by=caller.subject,
    )
    session.add(job)
    await session.flush()
    return job


async def get(session: AsyncSession, caller: Caller, job_id: UUID) -> WhatIfJob:
    """A job the caller may see: one whose units all lie within the caller's scope (its answer
    counts the households of those units)."""
    job = await session.get(WhatIfJob, job_id)
    if job is None or not await _visible(session, caller, job):
        raise NotFound(f"What-if job {job_id} does not exist.")
    return job


async def _visible(session: AsyncSession, caller: Caller, job: WhatIfJob) -> bool:
    if caller.unit_scope is None:
        return True
    if job.unit_scope is None:
        return False
    for unit in job.unit_scope:
        known = await references.unit_path(session, job.round_id, unit)
        if not caller.may_see(known[1] if known is not None else [unit]):
            return False
    return True


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], *, lease_seconds: float
) -> UUID | None:
    """The next what-if to run (`indicators.jobs`)."""
    job = await jobs.claim_next(sessionmaker, WhatIfJob, lease_seconds=lease_seconds)
    return None if job is None else job.id


async def run(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: UUID,
    *,
    record_keys: RecordKeys | None = None,
    renew_every: float = 30.0,
) -> None:
    """Run a claimed job to the end, recording its result or the error; its lease is renewed
    every `renew_every` seconds while it classifies (a fraction of the lease)."""
    try:
        await _run(sessionmaker, job_id, record_keys, renew_every)
    except Exception as error:
        if unavailable(error):
            raise  # the lease runs out and another worker takes it again
        log.exception("what_if.failed", job_id=str(job_id))
        async with sessionmaker() as session, session.begin():
            job = await session.get(WhatIfJob, job_id)
            assert job is not None
            job.status, job.error, job.finished_at = JobStatus.failed, repr(error), utc_now()


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession],
    job_id: UUID,
    record_keys: RecordKeys | None,
    renew_every: float,
) -> None:
    async with sessionmaker() as session:
        job = await session.get(WhatIfJob, job_id)
        assert job is not None
        round_id, scope = job.round_id, job.unit_scope
        draft = Standard.model_validate(job.draft)
    total = await _count(sessionmaker, round_id)
    await _progress(sessionmaker, job_id, total=total, done=0)
    # One statement classifies the round under the draft beside the official classes (the
    # facts are brought in line with the copies first, which is what writes).
    async with (
        jobs.lease_renewed(sessionmaker, WhatIfJob, job_id, every=renew_every),
        sessionmaker() as session,
        session.begin(),
    ):
        moves = await setwise.class_moves(
            session, draft, round_id, unit_scope=scope, record_keys=record_keys
        )
    counts: dict[str, Counter[str]] = {}
    changed = 0
    for move in moves:
        was, now = move.official, move.draft
        for unit in move.unit_path:
            tally = counts.setdefault(unit, Counter())
            tally[f"official.households.{was}"] += move.households
            tally[f"official.persons.{was}"] += move.persons
            tally[f"draft.households.{now}"] += move.households
            tally[f"draft.persons.{now}"] += move.persons
            if now != was:
                tally["changed"] += move.households
                tally[f"moves.{was}->{now}"] += move.households
        changed += move.households if now != was else 0
    await _add_population(sessionmaker, round_id, counts)
    async with sessionmaker() as session, session.begin():
        job = await session.get(WhatIfJob, job_id)
        assert job is not None
        job.result = [_unit(code, tally) for code, tally in sorted(counts.items())]
        job.changed_classes = changed
        job.done = total
        job.status, job.finished_at = JobStatus.succeeded, utc_now()


def _unit(code: str, tally: Mapping[str, int]) -> dict[str, Any]:
    def side(name: str, counted: str) -> dict[str, int]:
        return {c: tally.get(f"{name}.{counted}.{c}", 0) for c in (*CLASSES, "unclassified")}

    return {
        "unit_code": code,
        "resident_households": tally.get(RESIDENT_HOUSEHOLDS),
        "resident_persons": tally.get(RESIDENT_PERSONS),
        "official": {
            "households": side("official", "households"),
            "persons": side("official", "persons"),
        },
        "draft": {"households": side("draft", "households"), "persons": side("draft", "persons")},
        "changed_households": tally.get("changed", 0),
        "moves": {
            key.removeprefix("moves."): value
            for key, value in sorted(tally.items())
            if key.startswith("moves.")
        },
    }


async def _count(sessionmaker: async_sessionmaker[AsyncSession], round_id: UUID) -> int:
    async with sessionmaker() as session:
        statement = (
            select(func.count())
            .select_from(AssessmentCopy)
            .where(AssessmentCopy.round_id == round_id)
        )
        return int((await session.exec(statement)).one())


async def _add_population(
    sessionmaker: async_sessionmaker[AsyncSession],
    round_id: UUID,
    counts: dict[str, Counter[str]],
) -> None:
    """Resident households and persons of the units with households, for the rates."""
    async with sessionmaker() as session:
        statement = select(PopulationCopy).where(PopulationCopy.round_id == round_id)
        populations = (await session.exec(statement)).all()
    for population in populations:
        facts = population.facts
        for unit in facts["unit_path"]:
            if unit in counts:
                counts[unit][RESIDENT_HOUSEHOLDS] += facts["resident_households"]
                counts[unit][RESIDENT_PERSONS] += facts["resident_persons"]


async def _progress(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID, *, total: int, done: int
) -> None:
    async with sessionmaker() as session, session.begin():
        job = await session.get(WhatIfJob, job_id)
        assert job is not None
        job.total, job.done, job.heartbeat_at = total, done, utc_now()
