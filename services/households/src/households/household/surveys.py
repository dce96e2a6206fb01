"""Recording surveys: the one write path of a household's survey in a review round.

`record` takes a batch: the API's `PUT .../assessments/{round_id}` is a batch of one, a bulk
import's batch holds thousands. Every rule of a survey lives here, and nowhere else: the
birth-date rule, a national ID given twice in one survey, the commune valid on the round's
reference date, the caller's unit scope, communes whose review is approved (read-only), a
household code per commune, If-Match versions for a replacement, national-ID conflicts (through
`conflict_service`), and the audit entries and events a survey causes.

Each survey's problems come back with it (`Refused`), each naming the part of the survey
(`household` or `assessment`) and the field within it, with the error the API answers: the API
raises the first, the import turns each into a row error of its file. A refused survey writes
nothing; the others of the batch are written. The database is asked once per batch for each kind
of fact (households by code, their surveys in the round, communes, read-only communes), and the
rows are written together (`kit.bulk`: `COPY` on PostgreSQL).

Two sources, told apart by `source`:
- interactive (`source=None`): the household is given (the API found it in the caller's scope);
  replacing its survey needs `if_match`; one `households.assessment.recorded.v1` per survey and an
  audit entry with the survey's changes.
- an import (`FromImport`): the household is named by its code in its commune and registered
  there when new; a household already surveyed in the round is kept as it is (uploading a file
  again changes nothing); one `households.assessments.recorded.v1` message for the batch, and one
  audit entry per survey naming the import (whose file holds the facts).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.audit.models import AuditEntry
from households.conflict import service as conflict_service
from households.db import outbox
from households.household import events
from households.household import service as household_service
from households.household.models import Assessment, Household
from households.household.schemas import AssessmentInput, HouseholdCreate
from households.review import service as review_service
from households.review.exceptions import ReadOnly
from households.round.models import ReviewRound
from households.scope import check_commune_in_scope
from households.unit import service as unit_service
from households.unit.models import AdminUnit
from kit.auth import Caller
from kit.auth.scope import in_scope
from kit.bulk import insert_rows
from kit.contracts import Envelope
from kit.contracts.households import VersionedAssessment
from kit.db import table_of, utc_now
from kit.errors import (
    Conflict,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
    ServiceError,
)
from kit.logging import current_actor, current_request_id
from kit.messaging import stage_many

MAX_AGE = 130  # the bound of MemberFacts.age_years in the published AssessmentRecordedV1

Part = Literal["household", "assessment"]


@dataclass(frozen=True)
class Survey:
    """One survey to record: of the household given (`household`), or of the household that
    `registration` names by its code in its commune, registered there if new."""

    assessment: AssessmentInput
    household: Household | None = None
    registration: HouseholdCreate | None = None
    if_match: int | None = None


@dataclass(frozen=True)
class FromImport:
    """The batch comes from a bulk import: its job, and the file's row of its first survey."""

    job_id: UUID
    first_row: int


@dataclass(frozen=True)
class Refusal:
    """One problem of a survey: the error the API answers, and where it is (the part of the
    survey and the field within it; empty when no field is at fault)."""

    error: ServiceError
    part: Part
    loc: tuple[str | int, ...] = ()

    @property
    def message(self) -> str:
        return self.error.detail


@dataclass(frozen=True)
class Refused:
    refusals: list[Refusal]


@dataclass(frozen=True)
class Recorded:
    assessment: Assessment
    household: Household
    created: bool
    registered: bool


@dataclass(frozen=True)
class Kept:
    """Already surveyed in the round: an import leaves it as it is."""

    household: Household


Outcome = Recorded | Kept | Refused


class ConcurrentWrite(Conflict):
    """Another writer recorded one of the batch's households or surveys meanwhile: the batch
    wrote nothing; read again and retry."""

    def __init__(self) -> None:
        super().__init__(
            "This household's assessment in the round was recorded concurrently: read it and "
            "replace it with If-Match."
        )


def refused(error: ServiceError, part: Part, *loc: str | int) -> Refused:
    return Refused([Refusal(error, part, loc)])


def field_refusal(part: Part, loc: tuple[str | int, ...], message: str) -> Refusal:
    """A refusal naming a field, as the API names it (`["body", *loc]`)."""
    return Refusal(InvalidInput.field(["body", *loc], message), part, loc)


# --- The rules a survey obeys on its own --------------------------------------------------------


def input_refusals(survey: AssessmentInput, reference_date: date) -> list[Refusal]:
    """Every problem of the survey that needs no database: each member's birth date, and
    national IDs given for two members."""
    refusals = [
        field_refusal("assessment", ("members", index, "birth_date"), message)
        for index, message in birth_date_problems(survey, reference_date)
    ]
    first: dict[str, int] = {}
    for index, member in enumerate(survey.members):
        if member.national_id is None:
            continue
        earlier = first.setdefault(member.national_id, index)
        if earlier != index:
            message = f"The same national ID is given for members {earlier + 1} and {index + 1}."
            refusals.append(field_refusal("assessment", ("members", index, "national_id"), message))
    return refusals


def birth_date_problems(survey: AssessmentInput, reference_date: date) -> Iterator[tuple[int, str]]:
    """(member index, message) for each member born after the reference date, or too long
    before it for the published event (which caps ages)."""
    for index, member in enumerate(survey.members):
        if member.birth_date > reference_date:
            yield (
                index,
                f"Birth date {member.birth_date} is after the round's reference date "
                f"{reference_date}.",
            )
        elif events.completed_years(member.birth_date, reference_date) > MAX_AGE:
            yield (
                index,
                f"Birth date {member.birth_date} makes the member older than {MAX_AGE} on the "
                f"round's reference date {reference_date}.",
            )


# --- The batch ----------------------------------------------------------------------------------


async def record(
    session: AsyncSession,
    surveys: Sequence[Survey],
    *,
    review_round: ReviewRound,
    caller: Caller,
    source: FromImport | None = None,
) -> list[Outcome]:
    """Record the batch's surveys in the session's transaction; each one's outcome, in order.

    Raises ConcurrentWrite (nothing written) if another writer took one of its households' codes
    or surveys meanwhile."""
    reference_date = review_round.reference_date
    outcomes: list[Outcome | None] = [None] * len(surveys)
    for index, survey in enumerate(surveys):
        problems = input_refusals(survey.assessment, reference_date)
        if problems:
            outcomes[index] = Refused(problems)
    pending = [index for index, outcome in enumerate(outcomes) if outcome is None]

    by_code = await _households_by_code(
        session,
        caller,
        [r.household_code for i in pending if (r := surveys[i].registration) is not None],
    )
    households: dict[int, Household | None] = {}
    for index in pending:
        survey = surveys[index]
        households[index] = survey.household or _registered(by_code, survey.registration)
    stored = await _assessments(
        session, review_round.id, {h.id for h in households.values() if h is not None}
    )
    surveyed_in = {
        index: _surveyed_in(surveys[index], households[index], stored) for index in pending
    }
    communes = await unit_service.communes_on(session, surveyed_in.values(), on=reference_date)
    read_only = await review_service.read_only_communes(
        session, review_round.id, communes.keys() & set(surveyed_in.values())
    )

    batch = _Writes(review_round, source)
    claimed: set[tuple[str, str] | UUID] = set()
    for index in pending:
        survey, household = surveys[index], households[index]
        commune = communes.get(surveyed_in[index])
        if commune is None:
            message = await unit_service.no_commune(session, surveyed_in[index], on=reference_date)
            outcomes[index] = refused(
                InvalidInput.field(["body", "commune_code"], message), "household", "commune_code"
            )
            continue
        problem = _placement(caller, survey, household, commune, read_only, claimed)
        if problem is not None:
            outcomes[index] = problem
            continue
        existing = stored.get(household.id) if household is not None else None
        if existing is not None and source is not None:
            assert household is not None
            outcomes[index] = Kept(household)
            continue
        precondition = _precondition(existing, survey.if_match)
        if precondition is not None:
            outcomes[index] = refused(precondition, "assessment")
            continue
        outcomes[index] = batch.add(survey, household, existing, commune)

    try:
        await batch.write(session)
    except IntegrityError as error:
        raise ConcurrentWrite() from error
    return [outcome for outcome in outcomes if outcome is not None]


async def record_one(
    session: AsyncSession,
    household: Household,
    review_round: ReviewRound,
    assessment_in: AssessmentInput,
    *,
    caller: Caller,
    if_match: int | None,
) -> Recorded:
    """Record (create, or replace with `if_match`) one household's survey: a batch of one, its
    first problem raised as the API answers it."""
    [outcome] = await record(
        session,
        [Survey(assessment_in, household=household, if_match=if_match)],
        review_round=review_round,
        caller=caller,
    )
    if isinstance(outcome, Refused):
        raise outcome.refusals[0].error
    assert isinstance(outcome, Recorded)  # kept only for an import
    return outcome


def _precondition(existing: Assessment | None, if_match: int | None) -> ServiceError | None:
    """If-Match: none to create a survey, the current version to replace one."""
    if existing is None:
        if if_match is None:
            return None
        return PreconditionFailed(
            "There is no assessment to replace: send it without If-Match to create it."
        )
    if if_match is None:
        return PreconditionRequired(
            "This household already has an assessment in the round: send If-Match with its ETag "
            "to replace it."
        )
    try:
        household_service.check_version(existing.version, if_match)
    except ServiceError as stale:
        return stale
    return None


def _registered(
    by_code: dict[tuple[str, str], Household], registration: HouseholdCreate | None
) -> Household | None:
    """The household a registration names: registered in its commune, or (codes being unique per
    commune) in another commune of the caller's scope, where it moved or was entered by mistake."""
    assert registration is not None
    here = by_code.get((registration.commune_code, registration.household_code))
    if here is not None:
        return here
    return next(
        (h for (_, code), h in by_code.items() if code == registration.household_code), None
    )


def _surveyed_in(
    survey: Survey, household: Household | None, stored: dict[UUID, Assessment]
) -> str:
    """The commune a survey is recorded in: the one a registration names; for a household given,
    the commune its survey was first recorded in, if it has one (a household carried onto the
    new map since, by `relocation`, keeps its past rounds there), else its own."""
    if survey.registration is not None:
        return survey.registration.commune_code
    assert household is not None
    existing = stored.get(household.id)
    return existing.commune_code if existing is not None else household.commune_code


def _placement(
    caller: Caller,
    survey: Survey,
    household: Household | None,
    commune: AdminUnit,
    read_only: dict[str, str],
    claimed: set[tuple[str, str] | UUID],
) -> Refused | None:
    """Where the survey goes: a commune of the caller's scope for a household it registers (the
    API checked a given household's scope), whose review is not approved, the one a registered
    household of the same code is in (named only within the caller's scope), and once per batch."""
    registration = survey.registration
    if registration is not None:
        try:
            check_commune_in_scope(caller, commune, ["body", "commune_code"])
        except InvalidInput as outside:
            return refused(outside, "household", "commune_code")
    if commune.code in read_only:
        return refused(ReadOnly(commune.code), "household", "commune_code")
    if registration is not None and household is not None:
        if household.commune_code != registration.commune_code:
            message = (
                f"Household {household.household_code!r} is registered in commune "
                f"{household.commune_code}: move it there first (PATCH the household), then "
                "record its survey."
            )
            return Refused([field_refusal("household", ("commune_code",), message)])
    key: tuple[str, str] | UUID = (
        household.id
        if household is not None
        else (commune.code, registration.household_code if registration else "")
    )
    if key in claimed:
        message = "The same household is surveyed twice in one batch."
        return Refused([field_refusal("household", ("household_code",), message)])
    claimed.add(key)
    return None


@dataclass
class _Writes:
    """The batch's rows, its replaced surveys, its audit entries and its events, built here only."""

    review_round: ReviewRound
    source: FromImport | None
    households: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[tuple[Assessment, AssessmentInput]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    registered: list[Household] = field(default_factory=list)
    recorded: list[VersionedAssessment] = field(default_factory=list)

    def add(
        self,
        survey: Survey,
        household: Household | None,
        existing: Assessment | None,
        commune: AdminUnit,
    ) -> Recorded:
        now = utc_now()
        registered = household is None
        if household is None:
            assert survey.registration is not None
            row = survey.registration.model_dump() | {
                "id": uuid4(),
                "province_code": commune.province_code,
                "district_code": commune.district_code or "",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            self.households.append(row)
            # Built without validation or instrumentation, from the row as it is written.
            household = Household.model_construct(**row)
            self.registered.append(household)
            if self.source is None:
                # As `household_service.register` audits it; an import's entry below says so.
                registry = audit.changes_between({}, survey.registration.model_dump())
                self.audit.append(self._entry(household, "household.registered", registry, now))
        facts = survey.assessment.model_dump(mode="json")  # as a survey is stored
        assert commune.area is not None
        if existing is None:
            row = facts | {
                "id": uuid4(),
                "household_id": household.id,
                "round_id": self.review_round.id,
                "version": 1,
                "commune_code": commune.code,
                "area": commune.area,
                "created_at": now,
                "updated_at": now,
            }
            self.assessments.append(row)
            assessment = Assessment.model_construct(**row)
            before: dict[str, object] = {}
        else:
            assessment = existing
            before = _survey_facts(existing)
            for name, value in facts.items():
                setattr(assessment, name, value)
            assessment.commune_code = commune.code
            assessment.area = commune.area
            assessment.version += 1
            assessment.updated_at = now
            self.replaced.append((assessment, survey.assessment))
        self.claims.extend(
            {
                "round_id": self.review_round.id,
                "national_id": member.national_id,
                "assessment_id": assessment.id,
            }
            for member in survey.assessment.members
            if member.national_id is not None
        )
        self.recorded.append(
            VersionedAssessment(
                sequence=assessment.version,
                assessment=events.assessment_facts(
                    survey.assessment,
                    assessment_id=assessment.id,
                    household=household,
                    review_round=self.review_round,
                    commune=commune,
                ),
            )
        )
        self.audit.append(self._audit_entry(household, before, facts, registered, now))
        return Recorded(assessment, household, created=existing is None, registered=registered)

    def _audit_entry(
        self,
        household: Household,
        before: dict[str, object],
        facts: dict[str, object],
        registered: bool,
        now: datetime,
    ) -> dict[str, Any]:
        round_id = str(self.review_round.id)
        if self.source is None:
            action = "assessment.replaced" if before else "assessment.recorded"
            changes = audit.changes_between(before, facts) | {"round_id": round_id}
        else:
            # The import's file holds the facts: the entry names it rather than copy them.
            action = "assessment.imported"
            changes = {
                "import_id": str(self.source.job_id),
                "round_id": round_id,
                "household_registered": registered,
            }
        return self._entry(household, action, changes, now)

    @staticmethod
    def _entry(
        household: Household, action: str, changes: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        return {
            "at": now,
            "actor": (current_actor() or "unknown")[:120],
            "action": action,
            "household_id": household.id,
            "province_code": household.province_code,
            "district_code": household.district_code,
            "commune_code": household.commune_code,
            "changes": changes,
            "request_id": current_request_id(),
        }

    def envelopes(self) -> list[Envelope]:
        """One event per registration and survey through the API; an import's batch as one
        message of its registrations, then one of its surveys (docs/bulk-import.md)."""
        if self.source is None:
            return [
                *(events.household_registered(household) for household in self.registered),
                *(
                    events.survey_envelope(item.assessment, version=item.sequence)
                    for item in self.recorded
                ),
            ]
        subject = f"import:{self.source.job_id}:{self.source.first_row}"
        batch = []
        if self.registered:
            registrations = [events.registration(household) for household in self.registered]
            batch.append(events.households_registered(registrations, subject=subject))
        if self.recorded:
            batch.append(events.assessments_recorded(self.recorded, subject=subject))
        return batch

    async def write(self, session: AsyncSession) -> None:
        await insert_rows(session, table_of(Household), self.households)
        await insert_rows(session, table_of(Assessment), self.assessments)
        if self.replaced:
            await session.flush()
            for assessment, _ in self.replaced:
                # What the new roster no longer lists is let go before the claims below.
                await conflict_service.release(session, assessment)
        # An ID another survey of the round holds does not refuse this one: it opens a conflict
        # for supervisors, and nothing here tells the caller where the other household is.
        await conflict_service.claim_national_ids(session, self.claims)
        await insert_rows(session, table_of(AuditEntry), self.audit)
        await stage_many(session, outbox, self.envelopes())


async def _households_by_code(
    session: AsyncSession, caller: Caller, codes: list[str]
) -> dict[tuple[str, str], Household]:
    if not codes:
        return {}
    statement = select(Household).where(
        col(Household.household_code).in_(set(codes)),
        in_scope(caller, household_service.HOUSEHOLD_COLUMNS),
    )
    return {(h.commune_code, h.household_code): h for h in await session.exec(statement)}


async def _assessments(
    session: AsyncSession, round_id: UUID, household_ids: set[UUID]
) -> dict[UUID, Assessment]:
    """The households' surveys in the round, locked until the transaction ends."""
    if not household_ids:
        return {}
    statement = select(Assessment).where(
        Assessment.round_id == round_id, col(Assessment.household_id).in_(household_ids)
    )
    return {a.household_id: a for a in await session.exec(statement.with_for_update())}


def _survey_facts(assessment: Assessment) -> dict[str, object]:
    return AssessmentInput.model_validate(assessment, from_attributes=True).model_dump(mode="json")
