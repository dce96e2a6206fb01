"""Recording support given to households: the one write path of a support record.

`record` takes a batch: the API's `POST /api/v1/households/{id}/support` is a batch of one, a
bulk import's batch holds thousands, the demo's a commune's worth. Every rule of a support record
lives here: the household within the caller's unit scope (404 otherwise, as if it did not exist),
what the kind asks for (a device for `device_given`, months for `internet_subscription`, neither
otherwise), `given_on` neither in the future nor before the household was registered, and the
team member of a team of the household's commune, active that day. It writes the records, their
audit entries and ONE `households.support.recorded.v1` message for the batch (subject
`support:<batch id>`, sequence 1), all in the caller's transaction.

Each entry's problems come back with it (`Refused`), each naming its field and carrying the error
the API answers: the API raises the first, an import turns each into a row error of its file. A
refused entry writes nothing; the others of the batch are written. The database is asked once per
batch for each kind of fact (households, their first surveys, team members and their teams).

The household's registration day is the earlier of the day it was entered in the registry and the
reference date of the first round it was surveyed in: a household surveyed in a past round was
known to the review then, even when its record was entered later (an import of an old round).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.audit.models import AuditEntry
from households.db import outbox
from households.digital_team.models import DigitalTeam, TeamMember
from households.household import service as household_service
from households.household.exceptions import HouseholdNotFound
from households.household.models import Assessment, Household
from households.round.models import ReviewRound
from households.support.exceptions import AlreadyWithdrawn, SupportNotFound
from households.support.models import SupportRecord
from households.support.schemas import SupportInput
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.bulk import insert_rows
from kit.contracts import Envelope
from kit.contracts.households import (
    SupportGiven,
    SupportKind,
    SupportRecordedV1,
    SupportWithdrawnV1,
)
from kit.db import table_of, utc_now
from kit.errors import InvalidInput, NotFound, ServiceError
from kit.logging import current_actor, current_request_id
from kit.messaging import stage, stage_many

PRODUCER = "households"
MAX_BATCH = 10_000  # the most records one `households.support.recorded.v1` message carries
SUPPORT_COLUMNS = (
    SupportRecord.province_code,
    SupportRecord.district_code,
    SupportRecord.commune_code,
)


@dataclass(frozen=True)
class Entry:
    """One support record to write: for the household given (the API found it), or for the one
    an import names by its code in its commune."""

    support: SupportInput
    household: Household | None = None
    commune_code: str | None = None
    household_code: str | None = None


@dataclass(frozen=True)
class FromImport:
    job_id: UUID


@dataclass(frozen=True)
class Refusal:
    """One problem of an entry: the error the API answers and the field it names (empty: the
    household itself)."""

    error: ServiceError
    loc: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return self.error.detail


@dataclass(frozen=True)
class Refused:
    refusals: list[Refusal]


@dataclass(frozen=True)
class Recorded:
    record: SupportRecord
    household: Household


@dataclass(frozen=True)
class Kept:
    """An import's record already written the same (household, kind, device, months, day and
    member), not withdrawn: uploading a file again changes nothing."""

    household: Household


Outcome = Recorded | Kept | Refused


def _invalid(name: str, message: str) -> Refusal:
    return Refusal(InvalidInput.field(["body", name], message), (name,))


def kind_refusals(support: SupportInput) -> list[Refusal]:
    """What the kind asks for: a device given names it, a subscription its months; other kinds
    carry neither."""
    refusals = []
    if support.kind is SupportKind.device_given and support.device is None:
        refusals.append(_invalid("device", "Name the device given (kind device_given)."))
    if support.kind is not SupportKind.device_given and support.device is not None:
        refusals.append(_invalid("device", "Only a device_given record names a device."))
    subscription = support.kind is SupportKind.internet_subscription
    if subscription and support.subscription_months is None:
        message = "Give the months of subscription supported (kind internet_subscription)."
        refusals.append(_invalid("subscription_months", message))
    if not subscription and support.subscription_months is not None:
        message = "Only an internet_subscription record gives months."
        refusals.append(_invalid("subscription_months", message))
    return refusals


async def record(
    session: AsyncSession,
    caller: Caller,
    entries: Sequence[Entry],
    *,
    source: FromImport | None = None,
    today: date | None = None,
) -> list[Outcome]:
    """Write the batch's valid entries in the session's transaction; each entry's outcome, in
    order."""
    if len(entries) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} support records")
    today = today or date.today()
    households = await _households(session, caller, entries)
    registered = await _registration_days(session, [h for h in households if h is not None])
    members = await _members(session, {entry.support.member_id for entry in entries})
    written = await _written(session, households) if source is not None else set()
    batch = _Writes(uuid4(), source)
    outcomes: list[Outcome] = []
    for entry, household in zip(entries, households, strict=True):
        if household is None:
            outcomes.append(Refused([_not_found(entry)]))
            continue
        if _same(household.id, entry.support) in written:
            outcomes.append(Kept(household))
            continue
        problems = kind_refusals(entry.support)
        problems += _date_refusals(entry.support, registered[household.id], today)
        member = members.get(entry.support.member_id)
        problems += _member_refusals(entry.support, household, member)
        if problems:
            outcomes.append(Refused(problems))
            continue
        assert member is not None
        outcomes.append(batch.add(entry.support, household, member[0]))
        if source is not None:  # the same row twice in one file is imported once
            written.add(_same(household.id, entry.support))
    await batch.write(session)
    return outcomes


async def record_one(
    session: AsyncSession, caller: Caller, household: Household, support: SupportInput
) -> SupportRecord:
    """A batch of one; its first problem raised as the API answers it."""
    [outcome] = await record(session, caller, [Entry(support, household=household)])
    if isinstance(outcome, Refused):
        raise outcome.refusals[0].error
    assert isinstance(outcome, Recorded)  # kept only for an import
    return outcome.record


def _not_found(entry: Entry) -> Refusal:
    if entry.household is not None:
        return Refusal(HouseholdNotFound(entry.household.id))
    message = (
        f"No household {entry.household_code!r} in commune {entry.commune_code} within your "
        "unit scope."
    )
    return Refusal(NotFound(message), ("household_code",))


def _date_refusals(support: SupportInput, registered: date, today: date) -> list[Refusal]:
    if support.given_on > today:
        return [_invalid("given_on", f"{support.given_on} is in the future (today is {today}).")]
    if support.given_on < registered:
        message = (
            f"{support.given_on} is before the household was registered ({registered}): it "
            "cannot have been supported then."
        )
        return [_invalid("given_on", message)]
    return []


def _member_refusals(
    support: SupportInput,
    household: Household,
    member: tuple[DigitalTeam, TeamMember] | None,
) -> list[Refusal]:
    # The same words whether the member is unknown or of another commune: what exists outside
    # the caller's commune is not told.
    if member is None or member[0].commune_code != household.commune_code:
        message = (
            f"Team member {support.member_id} is not a member of a digital team of the "
            f"household's commune {household.commune_code}."
        )
        return [_invalid("member_id", message)]
    team, person = member
    given = support.given_on
    if given < team.active_from or (team.active_to is not None and given > team.active_to):
        until = team.active_to.isoformat() if team.active_to else "today"
        message = f"The member's team worked from {team.active_from} to {until}, not on {given}."
        return [_invalid("given_on", message)]
    if person.left_on is not None and given > person.left_on:
        message = f"Team member {person.id} left the team on {person.left_on}, before {given}."
        return [_invalid("member_id", message)]
    return []


@dataclass
class _Writes:
    """The batch's rows, audit entries and its one message, built here only."""

    batch_id: UUID
    source: FromImport | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    given: list[SupportGiven] = field(default_factory=list)

    def add(self, support: SupportInput, household: Household, team: DigitalTeam) -> Recorded:
        now = utc_now()
        actor = (current_actor() or "unknown")[:200]
        row = support.model_dump() | {
            "id": uuid4(),
            "household_id": household.id,
            "commune_code": household.commune_code,
            "province_code": household.province_code,
            "district_code": household.district_code,
            "team_id": team.id,
            "batch_id": self.batch_id,
            "import_id": self.source.job_id if self.source else None,
            "recorded_by": actor,
            "recorded_at": now,
            "withdrawn_at": None,
            "withdrawn_by": None,
            "withdrawal_reason": None,
        }
        self.rows.append(row)
        written = SupportRecord.model_construct(**row)
        self.given.append(
            SupportGiven(
                support_id=written.id,
                household_id=household.id,
                household_code=household.household_code,
                commune_code=household.commune_code,
                unit_path=unit_path(household),
                kind=support.kind,
                device=support.device,
                subscription_months=support.subscription_months,
                given_on=support.given_on,
                team_id=team.id,
                member_id=support.member_id,
            )
        )
        if self.source is None:
            changes = audit.changes_between({}, support.model_dump(mode="json"))
            action = "support.recorded"
        else:
            # The import's file holds the facts: the entry names it rather than copy them.
            changes = {"import_id": str(self.source.job_id), "kind": support.kind.value}
            action = "support.imported"
        self.audit.append(
            {
                "at": now,
                "actor": actor[:120],
                "action": action,
                "household_id": household.id,
                "province_code": household.province_code,
                "district_code": household.district_code,
                "commune_code": household.commune_code,
                "changes": changes | {"support_id": str(written.id)},
                "request_id": current_request_id(),
            }
        )
        return Recorded(written, household)

    async def write(self, session: AsyncSession) -> None:
        if not self.rows:
            return
        await insert_rows(session, table_of(SupportRecord), self.rows)
        await insert_rows(session, table_of(AuditEntry), self.audit)
        envelope = Envelope.wrap(
            SupportRecordedV1(records=self.given),
            producer=PRODUCER,
            subject=f"support:{self.batch_id}",
            sequence=1,
            correlation_id=current_request_id(),
            actor=current_actor(),
        )
        await stage_many(session, outbox, [envelope])


def unit_path(household: Household) -> list[str]:
    codes = (household.province_code, household.district_code, household.commune_code)
    return [code for code in codes if code]  # a commune of the two-level map has no district


async def _households(
    session: AsyncSession, caller: Caller, entries: Sequence[Entry]
) -> list[Household | None]:
    """Each entry's household within the caller's scope, or None."""
    named = {(e.commune_code, e.household_code) for e in entries if e.household is None}
    given = {e.household.id for e in entries if e.household is not None}
    scope = in_scope(caller, household_service.HOUSEHOLD_COLUMNS)
    found: dict[object, Household] = {}
    if given:
        statement = select(Household).where(col(Household.id).in_(given), scope)
        found |= {h.id: h for h in await session.exec(statement)}
    if named:
        pairs = [
            and_(Household.commune_code == commune, Household.household_code == code)
            for commune, code in named
        ]
        for chunk in _chunks(pairs, 500):
            statement = select(Household).where(or_(*chunk), scope)
            found |= {(h.commune_code, h.household_code): h for h in await session.exec(statement)}
    return [
        found.get(e.household.id if e.household is not None else (e.commune_code, e.household_code))
        for e in entries
    ]


Same = tuple[UUID, str, str | None, int | None, date, UUID]


def _same(household_id: UUID, support: SupportInput | SupportRecord) -> Same:
    device = support.device.value if support.device is not None else None
    return (
        household_id,
        support.kind.value,
        device,
        support.subscription_months,
        support.given_on,
        support.member_id,
    )


async def _written(session: AsyncSession, households: Sequence[Household | None]) -> set[Same]:
    """The records in force of the batch's households, as `_same` keys them."""
    ids = {h.id for h in households if h is not None}
    if not ids:
        return set()
    statement = select(SupportRecord).where(
        col(SupportRecord.household_id).in_(ids), col(SupportRecord.withdrawn_at).is_(None)
    )
    return {_same(r.household_id, r) for r in await session.exec(statement)}


async def _registration_days(
    session: AsyncSession, households: Iterable[Household]
) -> dict[UUID, date]:
    days = {h.id: h.created_at.date() for h in households}
    if not days:
        return days
    first_surveyed = (
        select(Assessment.household_id, func.min(ReviewRound.reference_date))
        .join(ReviewRound, col(ReviewRound.id) == col(Assessment.round_id))
        .where(col(Assessment.household_id).in_(days))
        .group_by(col(Assessment.household_id))
    )
    for household_id, surveyed_on in (await session.exec(first_surveyed)).all():
        if surveyed_on is not None and surveyed_on < days[household_id]:
            days[household_id] = surveyed_on
    return days


async def _members(
    session: AsyncSession, member_ids: set[UUID]
) -> dict[UUID, tuple[DigitalTeam, TeamMember]]:
    if not member_ids:
        return {}
    statement = (
        select(DigitalTeam, TeamMember)
        .join(TeamMember, col(TeamMember.team_id) == col(DigitalTeam.id))
        .where(col(TeamMember.id).in_(member_ids))
    )
    return {member.id: (team, member) for team, member in (await session.exec(statement)).all()}


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Withdrawal -----------------------------------------------------------------------------------


async def withdraw(
    session: AsyncSession, household: Household, support_id: UUID, reason: str
) -> SupportRecord:
    """Withdraw a record entered in error: it stays, marked, and no longer counts as help given
    (`households.support.withdrawn.v1`, sequence 2 of its subject)."""
    statement = select(SupportRecord).where(
        SupportRecord.id == support_id, SupportRecord.household_id == household.id
    )
    found = (await session.exec(statement.with_for_update())).first()
    if found is None:
        raise SupportNotFound(support_id)
    if found.withdrawn_at is not None:
        raise AlreadyWithdrawn(support_id)
    found.withdrawn_at = utc_now()
    found.withdrawn_by = (current_actor() or "unknown")[:200]
    found.withdrawal_reason = reason
    await session.flush()
    event = SupportWithdrawnV1(
        support_id=found.id,
        household_id=household.id,
        commune_code=found.commune_code,
        unit_path=[c for c in (found.province_code, found.district_code, found.commune_code) if c],
        reason=reason,
    )
    envelope = Envelope.wrap(
        event,
        producer=PRODUCER,
        subject=str(found.id),
        sequence=2,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )
    await stage(session, outbox, envelope)
    audit.record(
        session,
        "support.withdrawn",
        unit=(found.province_code, found.district_code, found.commune_code),
        household_id=household.id,
        changes={"support_id": str(found.id), "reason": reason},
    )
    return found


# --- Reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    kind: SupportKind | None = None
    given_from: date | None = None
    given_until: date | None = None


async def search(
    session: AsyncSession,
    caller: Caller,
    filters: Filters,
    *,
    household_id: UUID | None = None,
    commune_code: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[tuple[SupportRecord, str]], int]:
    """Records newest first, each with its household's code: of a household the caller sees
    (all of them, wherever it lived then), or of a commune, within the caller's scope."""
    statement = select(SupportRecord, Household.household_code).join(
        Household, col(Household.id) == col(SupportRecord.household_id)
    )
    if household_id is not None:
        statement = statement.where(SupportRecord.household_id == household_id)
    else:
        statement = statement.where(in_scope(caller, SUPPORT_COLUMNS))
    if commune_code is not None:
        statement = statement.where(in_unit(commune_code, SUPPORT_COLUMNS))
    if filters.kind is not None:
        statement = statement.where(SupportRecord.kind == filters.kind)
    if filters.given_from is not None:
        statement = statement.where(col(SupportRecord.given_on) >= filters.given_from)
    if filters.given_until is not None:
        statement = statement.where(col(SupportRecord.given_on) <= filters.given_until)
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(SupportRecord.given_on).desc(), col(SupportRecord.id))
    rows = (await session.exec(page.offset(offset).limit(limit))).all()
    return [(support, code) for support, code in rows], total
