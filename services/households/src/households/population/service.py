"""Resident population per commune and round: entered one by one or imported in bulk."""

import csv
import io
from collections.abc import Mapping, Sequence

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.db import outbox
from households.population.events import population_recorded
from households.population.models import UnitPopulation
from households.population.schemas import PopulationInput, PopulationRow
from households.review import service as review_service
from households.round.models import ReviewRound
from households.unit import service as unit_service
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.db import utc_now
from kit.errors import Conflict, FieldError, InvalidInput, NotFound
from kit.messaging import stage


async def record(
    session: AsyncSession,
    review_round: ReviewRound,
    unit_code: str,
    population_in: PopulationInput,
    caller: Caller,
    *,
    loc: Sequence[str | int] = ("path", "unit_code"),
) -> tuple[UnitPopulation, bool]:
    """Set a commune's resident households and persons for the round; True when new."""
    commune = await unit_service.get_commune(session, unit_code, on=review_round.reference_date)
    if commune is None or commune.area is None:
        message = await unit_service.no_commune(session, unit_code, on=review_round.reference_date)
        raise InvalidInput.field(list(loc), message)
    unit = (commune.province_code, commune.district_code or "", unit_code)
    if not caller.may_see(unit):
        if loc[0] == "path":  # the record named in the path does not exist for this caller
            raise NotFound(f"No population of {unit_code!r} in this round.")
        raise InvalidInput.field(list(loc), f"Commune {unit_code!r} is outside your unit scope.")
    await review_service.ensure_writable(session, review_round.id, unit_code)
    statement = select(UnitPopulation).where(
        UnitPopulation.round_id == review_round.id, UnitPopulation.unit_code == unit_code
    )
    population = (await session.exec(statement.with_for_update())).one_or_none()
    created = population is None
    before = {} if population is None else _counts(population)
    if population is None:
        population = UnitPopulation(
            round_id=review_round.id,
            unit_code=unit_code,
            province_code=commune.province_code,
            district_code=commune.district_code or "",
            resident_households=population_in.resident_households,
            resident_persons=population_in.resident_persons,
        )
        session.add(population)
    else:
        population.resident_households = population_in.resident_households
        population.resident_persons = population_in.resident_persons
        population.version += 1
        population.updated_at = utc_now()
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent first entry for the same commune won
        raise Conflict(f"The population of {unit_code} was set concurrently: retry.") from error
    envelope = population_recorded(population, commune)
    await stage(session, outbox, envelope)
    audit.record(
        session,
        "population.recorded",
        unit=unit,
        changes=audit.changes_between(before, _counts(population))
        | {"round_id": str(review_round.id)},
    )
    return population, created


def _counts(population: UnitPopulation) -> dict[str, int]:
    return {
        "resident_households": population.resident_households,
        "resident_persons": population.resident_persons,
    }


async def import_rows(
    session: AsyncSession,
    review_round: ReviewRound,
    rows: Mapping[str | int, PopulationRow],
    caller: Caller,
) -> int:
    """Record every row, or none: one bad row fails the whole import, naming the row.

    Rows are named by their index in a JSON list, or by their line in a CSV ("row 3").
    """
    first_row: dict[str, str | int] = {}
    for name, row in rows.items():
        loc = ("body", name, "unit_code")
        if (first := first_row.setdefault(row.unit_code, name)) != name:
            # Recording it twice would silently keep the last figures and count the row twice.
            where = first if isinstance(first, str) else f"item {first}"
            raise InvalidInput.field(
                loc, f"Commune {row.unit_code!r} appears twice in the import (first at {where})."
            )
        await record(session, review_round, row.unit_code, row, caller, loc=loc)
    return len(rows)


def parse_json(data: bytes) -> dict[str | int, PopulationRow]:
    """The rows of a JSON list, each under its index."""
    try:
        rows = TypeAdapter(list[PopulationRow]).validate_json(data)
    except ValidationError as invalid:
        raise InvalidInput(
            "Invalid population rows.",
            errors=[FieldError(loc=["body", *e["loc"]], msg=e["msg"]) for e in invalid.errors()],
        ) from invalid
    return dict(enumerate(rows))


def parse_csv(data: bytes) -> dict[str | int, PopulationRow]:
    """The rows of a UTF-8 CSV with the columns `unit_code,resident_households,resident_persons`
    (others are ignored), each under its name in the file ("row 2" follows the header)."""
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often start the file with a BOM
    except UnicodeDecodeError as error:
        raise InvalidInput.field(
            ["body"], f"The CSV is not UTF-8 text (byte {error.start} is invalid)."
        ) from error
    reader = csv.DictReader(io.StringIO(text))
    expected = {"unit_code", "resident_households", "resident_persons"}
    if reader.fieldnames is None or not expected <= set(reader.fieldnames):
        raise InvalidInput.field(
            ["body"], f"The CSV header must name the columns {', '.join(sorted(expected))}."
        )
    rows: dict[str | int, PopulationRow] = {}
    errors: list[FieldError] = []
    for record in reader:
        name = f"row {reader.line_num}"  # the line a spreadsheet shows, blank lines included
        try:
            rows[name] = PopulationRow.model_validate({k: record[k] for k in expected})
        except ValidationError as invalid:
            errors.extend(
                FieldError(loc=["body", name, *map(str, e["loc"])], msg=e["msg"])
                for e in invalid.errors()
            )
    if errors:
        raise InvalidInput(f"{len(errors)} problems in the CSV.", errors=errors)
    return rows


COLUMNS = (UnitPopulation.province_code, UnitPopulation.district_code, UnitPopulation.unit_code)


async def search(
    session: AsyncSession, review_round: ReviewRound, caller: Caller, *, unit_code: str | None
) -> Sequence[UnitPopulation]:
    statement = select(UnitPopulation).where(
        UnitPopulation.round_id == review_round.id, in_scope(caller, COLUMNS)
    )
    if unit_code is not None:
        statement = statement.where(in_unit(unit_code, COLUMNS))
    return (await session.exec(statement.order_by(col(UnitPopulation.unit_code)))).all()
