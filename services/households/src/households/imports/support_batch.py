"""One batch of a support-records import: the file's rows turned into entries of the one write
path of support records (`support.service.record`), which checks, writes and publishes them (one
`households.support.recorded.v1` message per batch); and the problems it returns turned into row
errors of the file.

What stays here is what only a file has: its rows, the API's request schema applied to each, and
where each problem is (the row and the column).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from households.imports.batch import Outcome
from households.imports.models import ImportRowError
from households.imports.readers import FileSupport, RowProblem
from households.imports.support_layout import BY_NAME
from households.support import service as support_service
from households.support.schemas import SupportInput
from kit.auth import Caller
from kit.bulk import insert_rows
from kit.db import table_of


@dataclass
class Candidate:
    """A row that passed the schema checks; the write path decides the rest."""

    source: FileSupport
    support: SupportInput


@dataclass
class Failed:
    source: FileSupport
    problems: list[RowProblem]


Checked = Candidate | Failed


def check_schema(item: FileSupport) -> Checked:
    problems = [
        RowProblem(item.row, name, f"Required: give the household's {name}.")
        for name, value in (
            ("household_code", item.household_code),
            ("commune_code", item.commune_code),
        )
        if value is None
    ]
    try:
        support = SupportInput.model_validate(item.document)
    except ValidationError as invalid:
        for error in invalid.errors():
            column = next(
                (key for key in error["loc"] if isinstance(key, str) and key in BY_NAME), ""
            )
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(RowProblem(item.row, column or "kind", message))
        return Failed(item, problems)
    if problems:
        return Failed(item, problems)
    return Candidate(item, support)


async def write(
    session: AsyncSession, caller: Caller, items: Sequence[Checked], job_id: UUID
) -> Outcome:
    """Record the batch's valid rows in the session's transaction; the batch's outcome, its row
    problems staged as `import_row_error` rows of `job_id`."""
    outcome = Outcome()
    candidates = [item for item in items if isinstance(item, Candidate)]
    for item in items:
        if isinstance(item, Failed):
            outcome.fail(item.source, item.problems)
    if candidates:
        results = await support_service.record(
            session,
            caller,
            [
                support_service.Entry(
                    c.support,
                    commune_code=c.source.commune_code,
                    household_code=c.source.household_code,
                )
                for c in candidates
            ],
            source=support_service.FromImport(job_id),
        )
        for candidate, result in zip(candidates, results, strict=True):
            if isinstance(result, support_service.Recorded):
                outcome.imported += 1
            elif isinstance(result, support_service.Kept):
                outcome.skipped += 1
            else:
                row = candidate.source.row
                outcome.fail(
                    candidate.source,
                    [
                        RowProblem(
                            row,
                            refusal.loc[0] if refusal.loc else "household_code",
                            refusal.message,
                        )
                        for refusal in result.refusals
                    ],
                )
    await insert_rows(
        session,
        table_of(ImportRowError),
        [
            {"job_id": job_id, "row": p.row, "field": p.field, "message": p.message[:1000]}
            for p in outcome.problems
        ],
    )
    return outcome
