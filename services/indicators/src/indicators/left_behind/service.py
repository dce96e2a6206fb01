"""Left-behind lists: households deprived in the information dimension of their round's standard
that no community digital team has helped since their survey (or, under a number of days, none
within them), and the event that tells the team when a household enters the list.

What a household's place on the list depends on is kept in `left_behind_household`, one row per
household and round, written by two paths only, each a batch in the consumer's transaction:
classification (`classified`, called by `classification.service.apply`, the one write path of
classifications, whether events or a recalculation's set-wise pass brought the results) and the
support events (`record_support`). The periodic check (`check_waiting`) moves onto the list the
households whose days without support have run out, which no event marks.

A household enters the list when it is found on it and was not: its row's `entries` goes up by
one and `indicators.household.left_behind.v1` is staged with that number as its `sequence` (the
entries of surveys applied together, or of a recalculation, in one
`indicators.households.left_behind.v1`).
While it stays on the list nothing more is published; once it has left (support recorded, or a
re-survey no longer deprived) and comes back, it enters again, with a new event.

On PostgreSQL several consumers may apply a household's survey and its support at once: both
paths first take a transaction-scoped advisory lock on the household's bucket (in bucket order:
no deadlock), so that one sees what the other wrote.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import ColumnElement, and_, func, literal, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators import announcements
from indicators.announcements import Announcement, own_correlation_id
from indicators.classification.schemas import Classification
from indicators.config import Settings
from indicators.db import outbox
from indicators.figures.counts import INFORMATION
from indicators.left_behind.models import LeftBehindHousehold, SupportCopy
from indicators.restatement.models import HouseholdUnitCopy
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.contracts import Envelope, Event
from kit.contracts.households import AssessmentRecordedV1, SupportRecordedV1, SupportWithdrawnV1
from kit.contracts.indicators import (
    HouseholdLeftBehindV1,
    HouseholdsLeftBehindV1,
    VersionedLeftBehind,
)
from kit.db import insert_for, table_of, utc_now
from kit.messaging import stage_many

log = structlog.get_logger()

LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
NO_SUPPORT_SINCE_SURVEY = "no_support_since_survey"
NO_SUPPORT_WITHIN_DAYS = "no_support_within_days"
UNIT_COLUMNS = (
    LeftBehindHousehold.province_code,
    LeftBehindHousehold.district_code,
    LeftBehindHousehold.commune_code,
)


def today() -> date:
    """Today in Vietnam, where the teams count their days."""
    return datetime.now(LOCAL_TIME).date()


def information_indicators(standard: Standard) -> list[str]:
    """The keys of the standard's information-dimension indicators, as its data lists them."""
    return [i.key for i in standard.indicators if i.dimension == INFORMATION]


@dataclass(frozen=True, slots=True)
class Rule:
    """Which deprived households are on the list on `today`: those with no support since their
    survey and, when `within_days` is set, those whose last support is older than that."""

    within_days: int | None
    today: date

    @property
    def cutoff(self) -> date | None:
        """Support given before this day no longer keeps a household off the list."""
        if self.within_days is None:
            return None
        return self.today - timedelta(days=self.within_days)

    def lists(self, deprived: bool, last_support_on: date | None) -> bool:
        if not deprived:
            return False
        if last_support_on is None:
            return True
        cutoff = self.cutoff
        return cutoff is not None and last_support_on < cutoff

    def reason(self, last_support_on: date | None) -> str:
        return NO_SUPPORT_SINCE_SURVEY if last_support_on is None else NO_SUPPORT_WITHIN_DAYS


def configured_rule(settings: Settings | None = None, *, on: date | None = None) -> Rule:
    """The rule the events follow: `LEFT_BEHIND_WITHIN_DAYS` (the environment's when `settings`
    is None), on `on` (today by default)."""
    within_days = (settings or Settings()).LEFT_BEHIND_WITHIN_DAYS
    return Rule(within_days=within_days, today=on or today())


def waiting_since(survey_date: date, last_support_on: date | None) -> date:
    """The survey date, or the last support since it (never before it)."""
    return last_support_on if last_support_on is not None else survey_date


# Advisory-lock buckets: a household's survey and its support applied by two consumers at once
# meet on the same lock. Few buckets bound the locks one transaction holds (PostgreSQL's shared
# lock table is small); "LB" in the high bits keeps them apart from any other advisory lock.
LOCK_BUCKETS = 256
LOCK_NAMESPACE = 0x4C42 << 16


async def lock_households(session: AsyncSession, household_ids: Iterable[UUID]) -> None:
    """Hold the households' buckets until the transaction ends (PostgreSQL; SQLite has one
    writer), taken in bucket order so that two transactions never wait for each other."""
    if session.get_bind().dialect.name == "sqlite":
        return
    buckets = sorted({household_id.int % LOCK_BUCKETS for household_id in household_ids})
    for bucket in buckets:
        await session.exec(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE + bucket)))


async def _supports(session: AsyncSession, household_ids: Iterable[UUID]) -> dict[UUID, list[date]]:
    """The days each household was given support that still counts (not withdrawn)."""
    ids = sorted(set(household_ids))
    support = table_of(SupportCopy).c
    found: dict[UUID, list[date]] = {}
    for start in range(0, len(ids), IN_AT_ONCE):
        statement = select(support.household_id, support.given_on).where(
            support.household_id.in_(ids[start : start + IN_AT_ONCE]),
            support.withdrawn.is_(False),
            support.given_on.is_not(None),
        )
        for household_id, given_on in (await session.exec(statement)).all():
            found.setdefault(household_id, []).append(given_on)
    return found


IN_AT_ONCE = 5000  # ids in one IN (…): within a statement's bound parameters


def last_support_since(days: Iterable[date], survey_date: date) -> date | None:
    return max((day for day in days if day >= survey_date), default=None)


async def _rows(
    session: AsyncSession, condition: ColumnElement[bool]
) -> dict[tuple[UUID, UUID], LeftBehindHousehold]:
    """The rows, as stored now (not as an earlier read of this session left them)."""
    statement = (
        select(LeftBehindHousehold).where(condition).execution_options(populate_existing=True)
    )
    return {(row.household_id, row.round_id): row for row in (await session.exec(statement)).all()}


@dataclass(frozen=True, slots=True)
class Surveyed:
    """One applied classification, as the list needs it."""

    assessment: AssessmentRecordedV1
    household_class: str
    deprived: list[str]  # its information-dimension indicators, sorted
    correlation_id: str | None
    batched: bool = False  # applied with others or by a recalculation: entries go together


def surveyed(
    assessment: AssessmentRecordedV1,
    classification: Classification,
    correlation_id: str | None,
    *,
    batched: bool = False,
) -> Surveyed:
    keys = set(information_indicators(get_standard(classification.standard_id)))
    deprived = sorted(item.key for item in classification.deprived if item.key in keys)
    return Surveyed(
        assessment, classification.household_class.value, deprived, correlation_id, batched
    )


async def classified(
    session: AsyncSession, results: Sequence[Surveyed], rule: Rule | None = None
) -> int:
    """Place the newly classified households of `results` on their rounds' lists or off them,
    one by one in the order applied, as their events one at a time would (a household may enter
    and leave within a batch); the number of entries announced."""
    if not results:
        return 0
    household_ids = sorted({result.assessment.household_id for result in results})
    # Locked: the households deprived now, and those with a row (a support event may be moving
    # it); then their rows are read, as whoever held the lock left them.
    with_rows: set[UUID] = set()
    for start in range(0, len(household_ids), IN_AT_ONCE):
        some = household_ids[start : start + IN_AT_ONCE]
        statement = select(LeftBehindHousehold.household_id).where(
            col(LeftBehindHousehold.household_id).in_(some)
        )
        with_rows.update((await session.exec(statement)).all())
    deprived_now = {result.assessment.household_id for result in results if result.deprived}
    concerned = sorted(deprived_now | with_rows)
    await lock_households(session, concerned)
    rows: dict[tuple[UUID, UUID], LeftBehindHousehold] = {}
    for start in range(0, len(concerned), IN_AT_ONCE):
        some = concerned[start : start + IN_AT_ONCE]
        rows.update(await _rows(session, col(LeftBehindHousehold.household_id).in_(some)))
    supports = await _supports(session, concerned)
    rule = rule or configured_rule()
    entered: list[Announcement] = []
    for result in results:
        assessment = result.assessment
        key = (assessment.household_id, assessment.round_id)
        row = rows.get(key)
        if row is None:
            if not result.deprived:
                continue  # never on this round's list: no row needed
            row = rows[key] = LeftBehindHousehold(
                household_id=assessment.household_id,
                round_id=assessment.round_id,
                assessment_id=assessment.assessment_id,
                household_code=assessment.household_code,
                standard_id=assessment.standard_id,
                province_code=assessment.unit_path[0],
                district_code="",
                commune_code=assessment.commune_code,
                unit_path=[],
                household_class=result.household_class,
                survey_date=assessment.reference_date,
                deprived_indicators=[],
                deprived=False,
            )
            session.add(row)
        row.assessment_id = assessment.assessment_id
        row.household_code = assessment.household_code
        row.standard_id = assessment.standard_id
        row.province_code = assessment.unit_path[0]
        row.district_code = assessment.unit_path[1] if len(assessment.unit_path) > 2 else ""
        row.commune_code = assessment.commune_code
        row.commune_name = assessment.commune_name
        row.unit_path = list(assessment.unit_path)
        row.household_class = result.household_class
        row.survey_date = assessment.reference_date
        row.deprived_indicators = result.deprived
        row.deprived = bool(result.deprived)
        row.last_support_on = last_support_since(
            supports.get(assessment.household_id, ()), row.survey_date
        )
        if _place(row, rule):
            entered.append(_entered(row, rule, result.correlation_id, batched=result.batched))
    await session.flush()
    await _announce(session, entered)
    return len(entered)


def _place(row: LeftBehindHousehold, rule: Rule) -> bool:
    """Put the row on the list or off it under `rule`; whether it entered just now."""
    now_on = rule.lists(row.deprived, row.last_support_on)
    row.updated_at = utc_now()
    if now_on and not row.on_list:
        row.on_list, row.entries, row.entered_on = True, row.entries + 1, rule.today
        return True
    if not now_on:
        row.on_list = False
    return False


def _entered(
    row: LeftBehindHousehold, rule: Rule, correlation_id: str | None, *, batched: bool = False
) -> Announcement:
    """The row's entry just now (its `entries`-th), as its event is at this moment: a later
    survey of the batch may change the row."""
    subject = f"left_behind:{row.household_id}:{row.round_id}"
    return Announcement(_entry(row, rule), subject, row.entries, correlation_id, batched)


def _entries(some: Sequence[Announcement]) -> tuple[Event, str]:
    first = some[0].event
    assert isinstance(first, HouseholdLeftBehindV1)
    households = [
        VersionedLeftBehind(
            sequence=a.sequence, household=a.event, correlation_id=own_correlation_id(a, some)
        )
        for a in some
    ]
    subject = f"left_behind_entries:{first.household_id}:{first.round_id}"
    return HouseholdsLeftBehindV1(households=households), subject


def _entry(row: LeftBehindHousehold, rule: Rule) -> HouseholdLeftBehindV1:
    return HouseholdLeftBehindV1(
        household_id=row.household_id,
        household_code=row.household_code,
        round_id=row.round_id,
        standard_id=row.standard_id,
        commune_code=row.commune_code,
        commune_name=row.commune_name,
        unit_path=list(row.unit_path),
        deprived_indicators=list(row.deprived_indicators),
        waiting_since=waiting_since(row.survey_date, row.last_support_on),
        reason=rule.reason(row.last_support_on),
    )


async def _announce(session: AsyncSession, entered: Sequence[Announcement]) -> None:
    await stage_many(session, outbox, announcements.envelopes(entered, _entries))
    if entered:
        log.info("left_behind.entered", households=len(entered))


SupportDelivery = tuple[Envelope, SupportRecordedV1 | SupportWithdrawnV1]


async def record_support(
    session: AsyncSession, deliveries: Sequence[SupportDelivery], rule: Rule | None = None
) -> None:
    """Keep the support records and withdrawals of the deliveries (in delivery order), then
    move the households concerned onto their lists or off them.

    A withdrawal that arrives before its record leaves a tombstone; the record, when it comes,
    fills it in and stays withdrawn. A record seen twice (published again) changes nothing."""
    recorded: dict[UUID, dict[str, Any]] = {}
    withdrawn: dict[UUID, dict[str, Any]] = {}
    for _, event in deliveries:
        if isinstance(event, SupportRecordedV1):
            for record in event.records:
                recorded.setdefault(
                    record.support_id,
                    {
                        "support_id": record.support_id,
                        "household_id": record.household_id,
                        "commune_code": record.commune_code,
                        "kind": record.kind.value,
                        "device": None if record.device is None else record.device.value,
                        "given_on": record.given_on,
                        "withdrawn": False,
                        "received_at": utc_now(),
                    },
                )
        else:
            withdrawn[event.support_id] = {
                "support_id": event.support_id,
                "household_id": event.household_id,
                "commune_code": event.commune_code,
                "kind": None,
                "device": None,
                "given_on": None,
                "withdrawn": True,
                "received_at": utc_now(),
            }
    households = {row["household_id"] for row in (*recorded.values(), *withdrawn.values())}
    await lock_households(session, households)
    table = table_of(SupportCopy)
    if recorded:
        statement = insert_for(session, table)
        # The record fills in a tombstone (a withdrawal that came first) and leaves it withdrawn.
        statement = statement.on_conflict_do_update(
            index_elements=["support_id"],
            set_={
                "kind": statement.excluded.kind,
                "device": statement.excluded.device,
                "given_on": statement.excluded.given_on,
            },
            where=table.c.given_on.is_(None),
        )
        await session.exec(statement, params=[recorded[key] for key in sorted(recorded)])
    if withdrawn:
        statement = insert_for(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=["support_id"], set_={"withdrawn": literal(True)}
        )
        await session.exec(statement, params=[withdrawn[key] for key in sorted(withdrawn)])
    correlation_id = next((e.correlation_id for e, _ in reversed(deliveries)), None)
    await refresh(session, households, rule or configured_rule(), correlation_id=correlation_id)


async def refresh(
    session: AsyncSession,
    household_ids: Iterable[UUID],
    rule: Rule,
    *,
    correlation_id: str | None = None,
) -> int:
    """Recompute the last support of the households' rows in every round and place them; the
    number that entered a list."""
    ids = sorted(set(household_ids))
    rows: dict[tuple[UUID, UUID], LeftBehindHousehold] = {}
    for start in range(0, len(ids), IN_AT_ONCE):
        some = ids[start : start + IN_AT_ONCE]
        rows.update(await _rows(session, col(LeftBehindHousehold.household_id).in_(some)))
    if not rows:
        return 0
    supports = await _supports(session, ids)
    entered = []
    for key in sorted(rows):
        row = rows[key]
        row.last_support_on = last_support_since(
            supports.get(row.household_id, ()), row.survey_date
        )
        if _place(row, rule):
            entered.append(_entered(row, rule, correlation_id))
    await session.flush()
    await _announce(session, entered)
    return len(entered)


async def check_waiting(session: AsyncSession, rule: Rule) -> int:
    """The periodic check: under a number of days, move onto the lists the deprived households
    whose last support is now older than that (a set-wise query finds them); under either rule,
    take off those it no longer lists (the setting changed). The number that entered."""
    off = LeftBehindHousehold
    should = on_list_condition(rule)
    statement = select(off).where(
        or_(
            and_(col(off.on_list).is_(False), should),
            and_(col(off.on_list).is_(True), ~should),
        )
    )
    rows = (await session.exec(statement)).all()
    if not rows:
        return 0
    await lock_households(session, (row.household_id for row in rows))
    return await refresh(session, (row.household_id for row in rows), rule)


def on_list_condition(rule: Rule) -> ColumnElement[bool]:
    """`Rule.lists` in SQL, on the stored last support."""
    row = LeftBehindHousehold
    unsupported: ColumnElement[bool] = col(row.last_support_on).is_(None)
    cutoff = rule.cutoff
    if cutoff is not None:
        unsupported = or_(unsupported, col(row.last_support_on) < cutoff)
    return and_(col(row.deprived).is_(True), unsupported)


WAITING_SINCE = func.coalesce(LeftBehindHousehold.last_support_on, LeftBehindHousehold.survey_date)


async def listed(
    session: AsyncSession,
    caller: Caller,
    *,
    round_id: UUID,
    unit_code: str,
    rule: Rule,
    longest_first: bool = True,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[Sequence[LeftBehindHousehold], int]:
    """The unit's households on the round's list under `rule`, within the caller's scope,
    longest waiting first (or last), then by commune and household code; and how many."""
    statement = select(LeftBehindHousehold).where(
        LeftBehindHousehold.round_id == round_id,
        in_unit(unit_code, UNIT_COLUMNS),
        in_scope(caller, UNIT_COLUMNS),
        on_list_condition(rule),
    )
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    waiting = WAITING_SINCE.asc() if longest_first else WAITING_SINCE.desc()
    page = statement.order_by(
        waiting,
        col(LeftBehindHousehold.commune_code),
        col(LeftBehindHousehold.household_code),
        col(LeftBehindHousehold.household_id),
    ).offset(offset)
    if limit is not None:
        page = page.limit(limit)
    return (await session.exec(page)).all(), total


async def villages(session: AsyncSession, household_ids: Iterable[UUID]) -> Mapping[UUID, str]:
    """The village each household is registered in now (the registry's copy), where known."""
    ids = sorted(set(household_ids))
    found: dict[UUID, str] = {}
    for start in range(0, len(ids), IN_AT_ONCE):
        statement = select(HouseholdUnitCopy.household_id, HouseholdUnitCopy.village).where(
            col(HouseholdUnitCopy.household_id).in_(ids[start : start + IN_AT_ONCE])
        )
        for household_id, village in (await session.exec(statement)).all():
            if village is not None:
                found[household_id] = village
    return found
