"""One batch of an import: the file's households turned into surveys for the one write path of
surveys (`household.surveys.record`), which checks, writes and publishes them; and the problems it
returns turned into row errors of the file.

What stays here is what only a file has: its rows, the API's request schemas applied to each
household's rows, a household code given twice in the file, and where each problem is in the
file (the row, and the column or JSON path). The batch is recorded with one database round trip
per kind of fact and published as one `households.assessments.recorded.v1` message.

A household code already registered is not registered again: if the household already has an
assessment in the round the file's row is skipped (re-uploading a file changes nothing); if not,
the file's survey is recorded for it, provided the file names the same commune.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from households.household import surveys
from households.household.schemas import AssessmentInput, HouseholdCreate, MemberInput
from households.imports.layout import BY_NAME
from households.imports.models import ImportRowError
from households.imports.readers import FileHousehold, FileSupport, RowProblem
from households.round.models import ReviewRound
from kit.auth import Caller
from kit.bulk import insert_rows
from kit.db import table_of

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

    def fail(self, item: FileHousehold | FileSupport, problems: Iterable[RowProblem]) -> None:
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
    if assessment is None:
        # The survey's own rules are checked when it is recorded; of an invalid one, the members
        # that are valid still have their birth dates checked, so that every bad row is named.
        item.problems.extend(_birth_date_problems(item, _valid_members(item), reference_date))
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
    item: FileHousehold, members: Iterable[tuple[int, MemberInput]], reference_date: date
) -> Iterator[RowProblem]:
    for index, member in members:
        fields: dict[str, Any] = {"members": [member]}
        alone = AssessmentInput.model_construct(**fields)
        for _, message in surveys.birth_date_problems(alone, reference_date):
            yield _problem(item, "assessment", ("members", index, "birth_date"), message)


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


@dataclass(frozen=True)
class Context:
    """What a job's batches share: the round and the uploader."""

    review_round: ReviewRound
    caller: Caller


Checked = FileHousehold | Candidate
"""A household of the file after `check_schema`: a candidate, or the rows with their problems."""


async def write(
    session: AsyncSession, context: Context, items: Sequence[Checked], job_id: UUID
) -> Outcome:
    """Record the batch's valid households in the session's transaction; the batch's outcome,
    its row problems staged as `import_row_error` rows of `job_id`. Raises
    `surveys.ConcurrentWrite` (nothing written) if another writer took one of its households'
    codes meanwhile."""
    outcome = Outcome()
    candidates: list[Candidate] = []
    for item in items:
        if isinstance(item, Candidate):
            candidates.append(item)
        else:
            outcome.fail(item, item.problems)
    if candidates:
        source = surveys.FromImport(job_id=job_id, first_row=candidates[0].source.first_row)
        results = await surveys.record(
            session,
            [surveys.Survey(c.assessment, registration=c.household) for c in candidates],
            review_round=context.review_round,
            caller=context.caller,
            source=source,
        )
        for candidate, result in zip(candidates, results, strict=True):
            if isinstance(result, surveys.Recorded):
                outcome.imported += 1
            elif isinstance(result, surveys.Kept):
                outcome.skipped += 1  # imported before: the file changes nothing about it
            else:
                outcome.fail(candidate.source, _row_problems(candidate.source, result))
    await insert_rows(
        session,
        table_of(ImportRowError),
        [
            {"job_id": job_id, "row": p.row, "field": p.field, "message": p.message[:1000]}
            for p in outcome.problems
        ],
    )
    return outcome


def _row_problems(item: FileHousehold, refused: surveys.Refused) -> Iterator[RowProblem]:
    for refusal in refused.refusals:
        yield _problem(item, refusal.part, refusal.loc, refusal.message)
