"""Public statistics per unit and year (context series), imported in batches and read beside the
information dimension the platform computes.

One write path: `import_rows` takes a batch (a CSV is one; a JSON list of one row is a batch of
one), refuses it whole when any row is wrong, naming every wrong row and column, and otherwise
records every row, replacing a value already recorded for the same unit, year and series.

Which unit a code names depends on the year: the 1 July 2025 reform reused codes (08707 is a
commune of Vĩnh Phúc's district 243 before, of Phú Thọ after). A row's unit is the unit of that
code on the year's map, read from the unit trees the service learned from the rounds' events
(`unit_ref`): the map of the year's periodic round, or for a year without one the map in force on
31 December, through any round on that map (no map change between its reference date and that
day). Its path is kept with the value for scope checks.
"""

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.context.models import ContextValue
from indicators.context.schemas import (
    MEASURES,
    ContextRow,
    ContextValueRead,
    ContextYear,
    Series,
    Source,
)
from indicators.figures import references
from indicators.figures.models import RoundRef
from indicators.information import service as information_service
from indicators.information.schemas import InformationFigures
from indicators.restatement import service as restatement_service
from kit.auth import Caller
from kit.db import utc_now
from kit.errors import FieldError, InvalidInput, NotFound

COLUMNS = tuple(ContextRow.model_fields)
REQUIRED_COLUMNS = tuple(name for name, f in ContextRow.model_fields.items() if f.is_required())
SERIES_ORDER = list(Series)


@dataclass(frozen=True)
class Imported:
    imported: int
    replaced: int


async def import_rows(
    session: AsyncSession, rows: Mapping[str | int, ContextRow], caller: Caller
) -> Imported:
    """Record every row, or none: every row whose unit is unknown on its year's map, outside
    the caller's scope, or repeated in the batch is named (`body`, row, column)."""
    errors: list[FieldError] = []
    first_at: dict[tuple[str, int, Series], str | int] = {}
    paths: dict[tuple[str, int], tuple[str, ...] | None] = {}
    resolved: list[tuple[ContextRow, tuple[str, ...]]] = []
    for name, row in rows.items():
        key = (row.unit_code, row.year, row.series)
        if (first := first_at.setdefault(key, name)) != name:
            where = first if isinstance(first, str) else f"item {first}"
            errors.append(
                FieldError(
                    loc=["body", name, "series"],
                    msg=f"{row.series.value} of {row.unit_code} in {row.year} appears twice in "
                    f"the import (first at {where}).",
                )
            )
            continue
        if (row.unit_code, row.year) not in paths:
            paths[row.unit_code, row.year] = await unit_path_in(session, row.unit_code, row.year)
        path = paths[row.unit_code, row.year]
        if path is None or not caller.may_see(path):
            errors.append(
                FieldError(
                    loc=["body", name, "unit_code"],
                    msg=f"No unit {row.unit_code} in your scope on the map of {row.year} (the "
                    "units of that year's periodic round; units of rounds the platform has "
                    "figures of).",
                )
            )
            continue
        resolved.append((row, path))
    if errors:
        raise InvalidInput(f"{len(errors)} problems in the context series.", errors=errors)
    replaced = 0
    for row, path in resolved:
        facts = row.model_dump() | {
            "series": row.series.value,
            "unit_path": list(path),
            "imported_by": caller.subject,
            "imported_at": utc_now(),
        }
        existing = await session.get(ContextValue, (row.unit_code, row.year, row.series.value))
        if existing is None:
            session.add(ContextValue(**facts))
            continue
        replaced += 1
        for name, value in facts.items():
            setattr(existing, name, value)
        session.add(existing)
    await session.flush()
    return Imported(imported=len(resolved), replaced=replaced)


async def unit_path_in(session: AsyncSession, unit_code: str, year: int) -> tuple[str, ...] | None:
    """The path of the unit `unit_code` names on `year`'s map; None when no round on that map
    placed it."""
    rounds = await _dated_rounds(session)
    of_the_year = [r for r in rounds if r.year == year and r.kind != "regular"]
    day = _reference_date(of_the_year[-1]) if of_the_year else date(year, 12, 31)
    on_the_map = [r for r in rounds if not await _map_between(session, _reference_date(r), day)]
    on_the_map.sort(key=lambda r: (r.year != year, abs((_reference_date(r) - day).days)))
    for known in on_the_map:
        found = await references.unit_path(session, known.round_id, unit_code)
        if found is not None:
            return found[1]
    return None


async def _dated_rounds(session: AsyncSession) -> list[RoundRef]:
    statement = select(RoundRef).where(col(RoundRef.reference_date).is_not(None))
    rounds = (await session.exec(statement)).all()
    return sorted(rounds, key=lambda r: (_reference_date(r), str(r.round_id)))


def _reference_date(known: RoundRef) -> date:
    assert known.reference_date is not None  # `_dated_rounds` keeps only those
    return known.reference_date


async def _map_between(session: AsyncSession, one: date, other: date) -> bool:
    """Whether a map change took effect between the two days (in either order)."""
    first, last = sorted((one, other))
    return await restatement_service.map_changed(session, first, last)


async def unit_context(
    session: AsyncSession,
    caller: Caller,
    unit_code: str,
    *,
    from_year: int | None = None,
    to_year: int | None = None,
) -> list[ContextYear]:
    """Each year of [from_year, to_year] with a value the caller may see or figures of the
    unit: the values with their sources, and the unit's information dimension in the year's
    periodic round as the information figures answer it. No year at all is 404."""
    statement = select(ContextValue).where(ContextValue.unit_code == unit_code)
    if from_year is not None:
        statement = statement.where(col(ContextValue.year) >= from_year)
    if to_year is not None:
        statement = statement.where(col(ContextValue.year) <= to_year)
    values = [v for v in (await session.exec(statement)).all() if caller.may_see(v.unit_path)]
    by_year: dict[int, list[ContextValue]] = {}
    for value in values:
        by_year.setdefault(value.year, []).append(value)
    information: dict[int, InformationFigures] = {}
    for year, round_ids in (await _periodic_rounds_by_year(session)).items():
        if (from_year is not None and year < from_year) or (to_year is not None and year > to_year):
            continue
        for round_id in reversed(round_ids):  # the latest round of the year with the unit
            try:
                [information[year]] = await information_service.for_unit(
                    session, caller, round_id, unit_code
                )
                break
            except NotFound:
                continue  # not in that round's tree, or outside the caller's scope
    years = sorted(set(by_year) | set(information))
    if not years:
        raise NotFound(f"No context series or figures for unit {unit_code} in your scope.")
    return [
        ContextYear(
            year=year,
            unit_path=list(by_year[year][0].unit_path) if year in by_year else None,
            series=_read(by_year.get(year, [])),
            information=information.get(year),
        )
        for year in years
    ]


async def _periodic_rounds_by_year(session: AsyncSession) -> dict[int, list[UUID]]:
    """The periodic rounds of each year, oldest first: the latest with figures of a unit stands
    for the year, as for targets."""
    by_year: dict[int, list[UUID]] = {}
    for known in await information_service.periodic_rounds(session):
        by_year.setdefault(known.year, []).append(known.round_id)
    return by_year


def _read(values: Sequence[ContextValue]) -> list[ContextValueRead]:
    ordered = sorted(values, key=lambda v: SERIES_ORDER.index(Series(v.series)))
    return [
        ContextValueRead(
            series=Series(v.series),
            value=v.value,
            measure=MEASURES[Series(v.series)].text,
            source=Source(
                publisher=v.source_publisher,
                title=v.source_title,
                reference=v.source_reference,
                retrieved_on=v.source_retrieved_on,
            ),
            note=v.note,
        )
        for v in ordered
    ]


def parse_json(data: bytes) -> dict[str | int, ContextRow]:
    """The rows of a JSON list, each under its index."""
    try:
        rows = TypeAdapter(list[ContextRow]).validate_json(data)
    except ValidationError as invalid:
        raise InvalidInput(
            "Invalid context series rows.",
            errors=[FieldError(loc=["body", *e["loc"]], msg=e["msg"]) for e in invalid.errors()],
        ) from invalid
    return dict(enumerate(rows))


def parse_csv(data: bytes) -> dict[str | int, ContextRow]:
    """The rows of a UTF-8 CSV whose header names the columns of `ContextRow` (`note` may be
    left out, other columns are refused), each under its line in the file ("row 2" follows the
    header); every problem of every row is named, not only the first."""
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often start the file with a BOM
    except UnicodeDecodeError as error:
        raise InvalidInput.field(
            ["body"], f"The CSV is not UTF-8 text (byte {error.start} is invalid)."
        ) from error
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = sorted(header - set(COLUMNS))
    if missing or unknown:
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise InvalidInput.field(
            ["body"],
            f"The CSV header must name the columns {', '.join(COLUMNS)} ({'; '.join(problems)}).",
        )
    rows: dict[str | int, ContextRow] = {}
    errors: list[FieldError] = []
    for record in reader:
        name = f"row {reader.line_num}"  # the line a spreadsheet shows
        # An empty cell is a missing value (a note left blank), not an empty text.
        fields = {k: v for k, v in record.items() if k in COLUMNS and v not in ("", None)}
        try:
            rows[name] = ContextRow.model_validate(fields)
        except ValidationError as invalid:
            errors.extend(
                FieldError(loc=["body", name, *map(str, e["loc"])], msg=e["msg"])
                for e in invalid.errors()
            )
    if errors:
        raise InvalidInput(f"{len(errors)} problems in the CSV.", errors=errors)
    if not rows:
        raise InvalidInput.field(["body"], "The CSV has a header but no rows.")
    return rows
