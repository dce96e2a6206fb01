"""One batch of an import: checked as the API checks a household and its survey, then written with
multi-row INSERTs and its events staged in the outbox, all in the caller's transaction.

The API's rules are reused rather than restated: the request schemas (`HouseholdCreate`,
`AssessmentInput`), the household service's birth-date rule, the unit-scope check, and the event
builders of `household.events` (the survey's event is assembled from `survey_facts` as
`assessment_recorded` assembles it from a stored row). What differs is only how often the
database is asked: once per batch for the communes, the household codes, their assessments in the
round and the national IDs claimed, instead of once per household.

A household code already registered is not registered again: if the household already has an
assessment in the round the file's row is skipped (re-uploading a file changes nothing); if not,
the file's survey is recorded for it, provided the file names the same commune.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table, insert, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.conflict import service as conflict_service
from households.db import outbox
from households.household import events
from households.household import service as household_service
from households.household.models import Assessment, Household
from households.household.schemas import AssessmentInput, HouseholdCreate, MemberInput
from households.imports.layout import BY_NAME
from households.imports.models import ImportRowError
from households.imports.readers import FileHousehold, RowProblem
from households.review import service as review_service
from households.round.models import ReviewRound
from households.scope import check_commune_in_scope
from households.unit import service as unit_service
from households.unit.models import AdminUnit, UnitLevel
from kit.auth import Caller
from kit.auth.scope import in_scope
from kit.contracts import Envelope
from kit.db import table_of, utc_now
from kit.errors import InvalidInput
from kit.logging import current_actor, current_request_id
from kit.messaging import stage_many

M = TypeVar("M", bound=BaseModel)


@dataclass
class Candidate:
    """A household whose file rows passed the schema checks; the database decides the rest."""

    source: FileHousehold
    household: HouseholdCreate
    assessment: AssessmentInput


@dataclass
class Outcome:
    """What one batch did."""

    imported: int = 0
    skipped: int = 0
    failed: int = 0
    rows_failed: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    def fail(self, item: FileHousehold, problems: Iterable[RowProblem]) -> None:
        self.failed += 1
        self.rows_failed += item.rows
        self.problems.extend(problems)


# --- Checks that need no database -----------------------------------------------------------------


def check_schema(
    item: FileHousehold, reference_date: date, seen: dict[str, int]
) -> Candidate | None:
    """The household if its rows pass the API's schemas and the round's birth-date rule; else
    None, with every problem found added to `item.problems`. `seen` maps the household codes met
    so far in the file to their first row."""
    if item.code is not None:
        first = seen.setdefault(item.code, item.first_row)
        if first != item.first_row:
            item.problems.append(
                RowProblem(
                    item.first_row,
                    _name(item, "household", ("household_code",)),
                    f"Household {item.code!r} appears twice in the file (first at row {first}).",
                )
            )
    household = _validated(item, "household", HouseholdCreate)
    assessment = _validated(item, "assessment", AssessmentInput)
    if assessment is not None:
        item.problems.extend(_repeated_national_ids(item, assessment.members))
        try:
            household_service._check_birth_dates(assessment, reference_date)
        except InvalidInput:
            # Member by member, so that every bad row is named.
            item.problems.extend(
                _birth_date_problems(item, list(enumerate(assessment.members)), reference_date)
            )
    else:
        # The members that are valid still have their birth dates checked.
        item.problems.extend(_birth_date_problems(item, list(_valid_members(item)), reference_date))
    if item.problems or household is None or assessment is None:
        return None
    return Candidate(item, household, assessment)


def _validated(item: FileHousehold, part: str, schema: type[M]) -> M | None:
    if part not in item.document:
        return None  # the reader said what is wrong with the line
    try:
        return schema.model_validate(item.document[part])
    except ValidationError as invalid:
        for error in invalid.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            item.problems.append(_problem(item, part, tuple(error["loc"]), message))
        return None


def _valid_members(item: FileHousehold) -> Iterator[tuple[int, MemberInput]]:
    members = item.document.get("assessment", {}).get("members")
    for index, member in enumerate(members if isinstance(members, list) else []):
        try:
            yield index, MemberInput.model_validate(member)
        except ValidationError:
            continue  # its problems are reported by the survey's own validation


def _birth_date_problems(
    item: FileHousehold, members: list[tuple[int, MemberInput]], reference_date: date
) -> Iterator[RowProblem]:
    for index, member in members:
        # The household service's rule, member by member so that every bad row is named.
        fields: dict[str, Any] = {"members": [member]}
        alone = AssessmentInput.model_construct(**fields)
        try:
            household_service._check_birth_dates(alone, reference_date)
        except InvalidInput as invalid:
            yield _problem(item, "assessment", ("members", index, "birth_date"), invalid.detail)


def _repeated_national_ids(
    item: FileHousehold, members: Sequence[MemberInput]
) -> Iterator[RowProblem]:
    first: dict[str, int] = {}
    for index, member in enumerate(members):
        if member.national_id is None:
            continue
        earlier = first.setdefault(member.national_id, index)
        if earlier != index:
            yield _problem(
                item,
                "assessment",
                ("members", index, "national_id"),
                f"The same national ID is given for members {earlier + 1} and {index + 1}.",
            )


# --- Where a problem is: the row and the field, as the file's reader sees them --------------------


def _problem(
    item: FileHousehold, part: str, loc: tuple[str | int, ...], message: str
) -> RowProblem:
    row = item.first_row
    if item.spreadsheet and part == "assessment" and len(loc) >= 2 and loc[0] == "members":
        index = loc[1]
        if isinstance(index, int) and 0 <= index < len(item.member_rows):
            row = item.member_rows[index]
    return RowProblem(row, _name(item, part, loc, message), message)


def _name(item: FileHousehold, part: str, loc: tuple[str | int, ...], message: str = "") -> str:
    """A JSON path for JSON lines ("assessment.members.2.birth_date"); for a spreadsheet, the
    column (the member's row says which member)."""
    if not item.spreadsheet:
        return ".".join(str(key) for key in (part, *loc))
    names = [key for key in loc if isinstance(key, str) and key in BY_NAME]
    if names:
        return names[-1]
    # A rule over several fields ("school_level is required when ..."): the first one it names.
    mentioned = sorted((message.find(name), name) for name in BY_NAME if name in message)
    if mentioned:
        return mentioned[0][1]
    if "head" in message:
        return "relation_to_head"
    if loc[:1] == ("dwelling",):
        return "floor_area_m2"
    return "members" if loc[:1] == ("members",) else "household_code"


# --- The database -----------------------------------------------------------------------------


@dataclass
class Context:
    """What a job's batches share: the round, the uploader, and the communes met so far."""

    review_round: ReviewRound
    caller: Caller
    communes: dict[str, AdminUnit | None] = field(default_factory=dict)
    # Why a code met so far is no commune on the reference date, naming what took over from it.
    not_communes: dict[str, str] = field(default_factory=dict)


Checked = FileHousehold | Candidate
"""A household of the file after `check_schema`: a candidate, or the rows with their problems."""


async def write(
    session: AsyncSession, context: Context, items: Sequence[Checked], job_id: UUID
) -> Outcome:
    """Write the batch's valid households in the session's transaction; the batch's outcome,
    its row problems staged as `import_row_error` rows of `job_id`."""
    outcome = Outcome()
    candidates: list[Candidate] = []
    for item in items:
        if isinstance(item, Candidate):
            candidates.append(item)
        else:
            outcome.fail(item, item.problems)
    await _load_communes(session, context, {c.household.commune_code for c in candidates})
    round_id = context.review_round.id
    read_only = await review_service.read_only_communes(session, round_id, context.communes.keys())
    existing = await _existing_households(
        session, context.caller, [c.household.household_code for c in candidates]
    )
    # Codes are unique per commune: the same code in another commune of the uploader's scope is
    # taken for the household having moved (refused below); outside the scope it is another's.
    elsewhere = {code: household for (_, code), household in existing.items()}
    surveyed = await _surveyed(session, round_id, [h.id for h in existing.values()])
    rows = _Rows()
    for candidate in candidates:
        key = (candidate.household.commune_code, candidate.household.household_code)
        stored = existing.get(key) or elsewhere.get(key[1])
        problems = list(_placement_problems(context, candidate, stored, read_only))
        if not problems and stored is not None and stored.id in surveyed:
            outcome.skipped += 1  # imported before: the file changes nothing about it
            continue
        if problems:
            outcome.fail(candidate.source, problems)
            continue
        rows.add(context, candidate, stored, job_id)
        outcome.imported += 1
    await _insert(session, table_of(Household), rows.households)
    await _insert(session, table_of(Assessment), rows.assessments)
    # As the API decides: an ID another survey of the round holds opens a conflict for review.
    await conflict_service.claim_national_ids(session, rows.claims)
    await _insert(session, table_of(AuditEntry), rows.audit)
    await stage_many(session, outbox, rows.events)
    await _insert(
        session,
        table_of(ImportRowError),
        [
            {"job_id": job_id, "row": p.row, "field": p.field, "message": p.message[:1000]}
            for p in outcome.problems
        ],
    )
    return outcome


def _placement_problems(
    context: Context, candidate: Candidate, stored: Household | None, read_only: dict[str, str]
) -> Iterator[RowProblem]:
    """The commune: it exists on the reference date, the uploader may enter households in it, its
    review in the round is not approved (`read_only`), and it is the one a registered household of
    the same code is in (named only if the uploader may see that one)."""
    item, household_in = candidate.source, candidate.household
    commune_field = _name(item, "household", ("commune_code",))
    commune = context.communes.get(household_in.commune_code)
    if commune is None:
        yield RowProblem(
            item.first_row, commune_field, context.not_communes[household_in.commune_code]
        )
        return
    try:
        check_commune_in_scope(context.caller, commune, [commune_field])
    except InvalidInput as outside:
        yield RowProblem(item.first_row, commune_field, outside.detail)
        return
    if commune.code in read_only:
        yield RowProblem(item.first_row, commune_field, read_only[commune.code])
        return
    if stored is not None and stored.commune_code != household_in.commune_code:
        # `stored` lies within the uploader's units (codes are looked up there only).
        message = (
            f"Household {stored.household_code!r} is registered in commune "
            f"{stored.commune_code}: move it there first (PATCH the household), then import."
        )
        yield RowProblem(item.first_row, commune_field, message)


@dataclass
class _Rows:
    """The INSERTs of a batch, as rows, and the events to stage, in order."""

    households: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)

    def add(
        self, context: Context, candidate: Candidate, stored: Household | None, job_id: UUID
    ) -> None:
        review_round = context.review_round
        household_in, survey = candidate.household, candidate.assessment
        commune = context.communes[household_in.commune_code]
        assert commune is not None
        assert commune.area is not None
        now = utc_now()
        household = stored
        if household is None:
            row = household_in.model_dump() | {
                "id": uuid4(),
                "province_code": commune.province_code,
                "district_code": commune.district_code or "",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            self.households.append(row)
            # Built without validation or instrumentation: it only feeds the event builder.
            household = Household.model_construct(**row)
            self.events.append(events.household_registered(household))
        facts = survey.model_dump(mode="json")  # as the API stores a survey
        assessment_id = uuid4()
        self.assessments.append(
            facts
            | {
                "id": assessment_id,
                "household_id": household.id,
                "round_id": review_round.id,
                "version": 1,
                "commune_code": commune.code,
                "area": commune.area,
                "created_at": now,
                "updated_at": now,
            }
        )
        for member in survey.members:
            if member.national_id is not None:
                self.claims.append(
                    {
                        "round_id": review_round.id,
                        "national_id": member.national_id,
                        "assessment_id": assessment_id,
                    }
                )
        self.events.append(
            events.assessment_recorded(
                survey,
                assessment_id=assessment_id,
                version=1,
                household=household,
                review_round=review_round,
                commune=commune,
            )
        )
        # One audit entry per household, naming the import (whose file holds the facts).
        self.audit.append(
            {
                "at": now,
                "actor": (current_actor() or "unknown")[:120],
                "action": "assessment.imported",
                "household_id": household.id,
                "province_code": household.province_code,
                "district_code": household.district_code,
                "commune_code": household.commune_code,
                "changes": {
                    "import_id": str(job_id),
                    "round_id": str(review_round.id),
                    "household_registered": stored is None,
                },
                "request_id": current_request_id(),
            }
        )


async def _load_communes(session: AsyncSession, context: Context, codes: set[str]) -> None:
    missing = codes - context.communes.keys()
    if not missing:
        return
    on = context.review_round.reference_date
    statement = select(AdminUnit).where(
        col(AdminUnit.code).in_(missing),
        AdminUnit.level == UnitLevel.commune,
        col(AdminUnit.valid_from) <= on,
        or_(col(AdminUnit.valid_to).is_(None), col(AdminUnit.valid_to) >= on),
    )
    found = {unit.code: unit for unit in await session.exec(statement) if unit.area is not None}
    for unit in found.values():
        # Kept for the job's later batches: out of this session, whose rollback would expire it.
        session.expunge(unit)
    for code in missing:
        context.communes[code] = found.get(code)
        if code not in found:
            context.not_communes[code] = await unit_service.no_commune(session, code, on=on)


async def _existing_households(
    session: AsyncSession, caller: Caller, codes: list[str]
) -> dict[tuple[str, str], Household]:
    if not codes:
        return {}
    statement = select(Household).where(
        col(Household.household_code).in_(codes),
        in_scope(caller, household_service.HOUSEHOLD_COLUMNS),
    )
    return {(h.commune_code, h.household_code): h for h in await session.exec(statement)}


async def _surveyed(session: AsyncSession, round_id: UUID, household_ids: list[UUID]) -> set[UUID]:
    if not household_ids:
        return set()
    statement = select(Assessment.household_id).where(
        Assessment.round_id == round_id, col(Assessment.household_id).in_(household_ids)
    )
    return set(await session.exec(statement))


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERTs: SQLAlchemy's "insertmanyvalues" sends `INSERT ... VALUES (...), (...)`
    statements of up to 1,000 rows (fewer where the bound parameters would pass the database's
    limit), compiled once. It does so for an INSERT with RETURNING, hence the (unread) key."""
    if rows:
        key = next(iter(table.primary_key.columns))
        await session.exec(insert(table).returning(key), params=rows)
