"""Classifying a whole round at once in the database, from the facts tables.

`classify_households` gives each household's class and deprived indicators, `commune_counts` the
counters of each commune (`figures/counts.py`, key sums included), `changed` the households whose
stored classification differs from what the standard now gives (`confirm_unchanged` marks the
others, so that the next run compares less), `what_if` the counters of every unit under a draft
standard and `class_moves` the households moving between official and draft classes, touching
no official table. A few statements each, whatever
the round's size (see docs/setwise.md).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    func,
    literal_column,
    not_,
    or_,
    update,
)
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.compiler import Compiled, compile_standard
from indicators.classification.models import HouseholdClassification
from indicators.facts import service as facts_service
from indicators.facts.models import AssessmentFacts
from indicators.figures.cell_key import RecordKeys
from indicators.figures.cell_key import record_keys as default_record_keys
from indicators.figures.counts import CounterKey, Counts, Tally, household_counts, on_units
from indicators.standard.schemas import Standard
from kit.db import table_of

Path = tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """One household's class and the keys of the indicators it is deprived in, sorted."""

    assessment_id: UUID
    household_class: str | None  # None: neither score A nor income, the test cannot be applied
    deprived: tuple[str, ...]


class Unclassifiable(ValueError):
    """Households the income test cannot be applied to (the engine refuses them too)."""


def households_of(
    round_id: UUID, *, standard_id: str | None = None, unit_scope: Iterable[str] | None = None
) -> list[ColumnElement[bool]]:
    """Conditions on the facts: the round's households, of one standard, within the units."""
    facts = table_of(AssessmentFacts).c
    conditions: list[ColumnElement[bool]] = [facts.round_id == round_id]
    if standard_id is not None:
        conditions.append(facts.standard_id == standard_id)
    if unit_scope is not None:
        conditions.append(
            or_(
                *(facts.unit_path.contains(f"/{unit}/", autoescape=True) for unit in unit_scope),
                literal_column("1") == 0,  # an empty scope holds nothing
            )
        )
    return conditions


async def standards_in_round(session: AsyncSession, round_id: UUID) -> list[str]:
    """The standards the round's assessments name (one, unless a round changed standard)."""
    facts = table_of(AssessmentFacts).c
    statement = select(facts.standard_id).where(facts.round_id == round_id).distinct()
    return sorted(str(standard_id) for standard_id in (await session.exec(statement)).all())


async def classify_households(
    session: AsyncSession, standard: Standard, conditions: Sequence[ColumnElement[bool]]
) -> list[Outcome]:
    """Every household meeting `conditions` (see `households_of`), classified under `standard`."""
    compiled = compile_standard(standard, *conditions)
    rows = compiled.rows
    statement = select(rows.c.assessment_id, rows.c.household_class, compiled.deprived_keys())
    return [_outcome(row) for row in (await session.exec(statement)).all()]


async def commune_counts(
    session: AsyncSession, standard: Standard, conditions: Sequence[ColumnElement[bool]]
) -> dict[Path, Counts]:
    """The counters each commune's households add, by the commune's unit path: one GROUP BY
    over alike households (same commune, class, area and deprived indicators), each group
    counted by `figures.counts.household_counts` as its households one by one would be, so the
    counters have one definition whichever way a household is classified."""
    compiled = compile_standard(standard, *conditions)
    rows = compiled.rows
    alike = [rows.c.unit_path, rows.c.household_class, rows.c.area, compiled.deprived_keys()]
    sums: list[Any] = [
        func.count(),
        func.sum(rows.c.persons),
        func.sum(func.coalesce(rows.c.record_key, 0)),
    ]
    statement = select(*alike, *sums).group_by(*alike)
    dimension_of = {indicator.key: indicator.dimension for indicator in standard.indicators}
    communes: dict[Path, Counts] = {}
    for unit_path, household_class, area, keys, households, persons, key_sum in (
        await session.exec(statement)
    ).all():
        if household_class is None:
            raise Unclassifiable(
                f"{households} household(s) in {unit_path} have neither score A nor measured "
                "income: the income test cannot be applied"
            )
        path = tuple(facts_service.unit_path_of(unit_path))
        deprived = [{"key": key, "dimension": dimension_of[key]} for key in keys.split(",") if key]
        communes.setdefault(path, Tally()).update(
            household_counts(
                household_class=household_class,
                area=area,
                persons=int(persons),
                deprived=deprived,
                record_key=int(key_sum),
                households=int(households),
            )
        )
    return communes


def within(scope: frozenset[str] | None, path: Sequence[str]) -> Sequence[str] | None:
    """The part of a unit path from the first unit of the scope down; None if outside it."""
    if scope is None:
        return path
    return next((path[depth:] for depth, unit in enumerate(path) if unit in scope), None)


async def changed(
    session: AsyncSession, standard: Standard, conditions: Sequence[ColumnElement[bool]]
) -> list[Outcome]:
    """The households whose stored classification is not what `standard` gives now: another
    class, other deprived indicators, another standard, income limits or record key, or none
    stored. What the statement cannot see is the wording of explanations and which members
    triggered an indicator the household stays deprived in (the counters do not depend on it).
    Households whose facts say they were classified under this very standard are compared on
    columns only; the others' stored JSON is read too."""
    statement = changed_statement(session.get_bind().dialect.name, standard, conditions)
    return [_outcome(row) for row in (await session.exec(statement)).all()]


def changed_statement(
    dialect: str, standard: Standard, conditions: Sequence[ColumnElement[bool]]
) -> Any:
    """The statement of `changed`, for a dialect (`postgresql` or `sqlite`)."""
    compiled = compile_standard(standard, *conditions)
    rows, stored = compiled.rows, table_of(HouseholdClassification)
    digest = facts_service.standard_digest(standard)
    # Stored under this very standard from these very facts: the result cannot differ, and its
    # JSON (slow to read) need not be compared.
    unsure = or_(rows.c.classified_under.is_(None), rows.c.classified_under != digest)
    differs = or_(
        stored.c.assessment_id.is_(None),
        *_column_differences(compiled, stored, standard),
        and_(unsure, _result_differs(dialect, compiled, stored, standard)),
    )
    return (
        select(rows.c.assessment_id, rows.c.household_class, compiled.deprived_keys())
        .select_from(rows.outerjoin(stored, stored.c.assessment_id == rows.c.assessment_id))
        .where(differs)
    )


async def confirm_unchanged(
    session: AsyncSession, standard: Standard, conditions: Sequence[ColumnElement[bool]]
) -> int:
    """Mark the households whose stored classification is exactly what `standard` gives as
    classified under it (`AssessmentFacts.classified_under`), comparing the stored results' JSON
    of those not marked yet: later recalculations under the same standard skip that comparison.
    Safe at any time: it states a fact about the stored result, in one statement."""
    digest = facts_service.standard_digest(standard)
    facts = table_of(AssessmentFacts)
    unmarked = select(facts.c.assessment_id).where(
        *conditions, or_(facts.c.classified_under.is_(None), facts.c.classified_under != digest)
    )
    if (await session.exec(unmarked.limit(1))).first() is None:
        return 0  # the usual case: every household was classified under this standard
    dialect = session.get_bind().dialect.name
    compiled = compile_standard(standard, *conditions)
    rows, stored = compiled.rows, table_of(HouseholdClassification)
    same = (
        select(rows.c.assessment_id)
        .select_from(rows.join(stored, stored.c.assessment_id == rows.c.assessment_id))
        .where(
            or_(rows.c.classified_under.is_(None), rows.c.classified_under != digest),
            not_(or_(*_column_differences(compiled, stored, standard))),
            not_(_result_differs(dialect, compiled, stored, standard)),
        )
    )
    marked = update(facts).where(facts.c.assessment_id.in_(same)).values(classified_under=digest)
    return int((await session.exec(marked)).rowcount)


def _column_differences(
    compiled: Compiled, stored: Table, standard: Standard
) -> list[ColumnElement[bool]]:
    rows = compiled.rows
    return [
        stored.c.household_class != rows.c.household_class,
        stored.c.standard_id != standard.id,
        stored.c.deprivation_count != rows.c.deprivation_count,
        stored.c.record_key.is_(None),
        stored.c.record_key != rows.c.record_key,
    ]


def _result_differs(
    dialect: str, compiled: Compiled, stored: Table, standard: Standard
) -> ColumnElement[bool]:
    """The stored result's deprived indicators, income limits or provisional flag differ."""
    rows, result = compiled.rows, stored.c.result
    income_test = [
        (("income_test", "limit_applied"), rows.c.limit_applied),
        (("income_test", "income_line"), rows.c.income_line),
        (("income_test", "average_band_upper"), rows.c.average_band_upper),
    ]
    return or_(
        result["provisional"].as_boolean() != standard.is_provisional,
        *(result[path].as_integer() != value for path, value in income_test),
        _stored_deprived_keys(dialect) != compiled.deprived_keys(),
    )


async def what_if(
    session: AsyncSession,
    draft: Standard,
    round_id: UUID,
    *,
    unit_scope: Iterable[str] | None = None,
    record_keys: RecordKeys | None = None,
) -> Tally[CounterKey]:
    """The counters every unit of the round would have if its households were classified under
    `draft` (any Standard object, published or not): (round, unit, metric) → value and key sum,
    for the household counters of `figures/counts.py` (surveyed, classes, deprivations; the
    resident population does not depend on a standard). Within `unit_scope`, from its units down.

    Reads the facts tables and writes nothing official: facts missing or older than their copy
    are rebuilt first (`facts.service.refresh`), as a recalculation would. A provincial draft
    counts its province's households only. `record_keys` must be the service's (the default
    reads the environment's secret), or the key sums would not match the published cells'."""
    await facts_service.refresh(session, round_id, record_keys or default_record_keys())
    scope = None if unit_scope is None else list(unit_scope)
    communes = await commune_counts(session, draft, households_of(round_id, unit_scope=scope))
    within_scope = None if scope is None else frozenset(scope)
    totals: Tally[CounterKey] = Tally()
    for path, counts in communes.items():
        on_units(round_id, within(within_scope, path) or (), counts, into=totals)
    return totals


@dataclass(frozen=True)
class Move:
    """Households of one commune with one official class and one class under a draft."""

    unit_path: Path
    official: str
    draft: str  # `unclassified`: the draft cannot classify them
    households: int
    persons: int


async def class_moves(
    session: AsyncSession,
    draft: Standard,
    round_id: UUID,
    *,
    unit_scope: Iterable[str] | None = None,
    record_keys: RecordKeys | None = None,
) -> list[Move]:
    """The round's officially classified households (within `unit_scope`) grouped by commune,
    official class and class under `draft`: one statement, however many households. A household
    the draft cannot classify (a province's own standard, another province's household; neither
    score A nor income) counts as `unclassified`. Facts missing or older than their copy are
    rebuilt first, as `what_if` does; nothing official is written."""
    await facts_service.refresh(session, round_id, record_keys or default_record_keys())
    scope = None if unit_scope is None else list(unit_scope)
    conditions = households_of(round_id, unit_scope=scope)
    compiled = compile_standard(draft, *conditions).rows
    facts = table_of(AssessmentFacts).c
    official = table_of(HouseholdClassification).c
    drafted = func.coalesce(compiled.c.household_class, UNCLASSIFIED)
    columns: list[Any] = [
        facts.unit_path,
        official.household_class,
        drafted,
        func.count(),
        func.sum(facts.persons),
    ]
    statement = (
        select(*columns)
        .select_from(table_of(AssessmentFacts))
        .join(
            table_of(HouseholdClassification),
            official.assessment_id == facts.assessment_id,
        )
        .outerjoin(compiled, compiled.c.assessment_id == facts.assessment_id)
        .where(*conditions)
        .group_by(facts.unit_path, official.household_class, drafted)
    )
    return [
        Move(tuple(facts_service.unit_path_of(path)), was, now, int(households), int(persons))
        for path, was, now, households, persons in (await session.exec(statement)).all()
    ]


UNCLASSIFIED = "unclassified"


def _outcome(row: Any) -> Outcome:
    assessment_id, household_class, keys = row
    return Outcome(assessment_id, household_class, tuple(key for key in keys.split(",") if key))


def _stored_deprived_keys(dialect: str) -> ColumnElement[str]:
    """The keys in a stored result's `deprived` list, sorted, each followed by a comma: in
    each dialect's own JSON functions, which SQLAlchemy does not abstract."""
    if dialect == "postgresql":
        return literal_column(
            "(SELECT coalesce(string_agg((d ->> 'key') || ',', '' ORDER BY d ->> 'key' "
            "COLLATE \"C\"), '') FROM json_array_elements(household_classification.result "
            "-> 'deprived') AS d)"
        )
    return literal_column(
        "(SELECT coalesce(group_concat(k || ',', ''), '') FROM (SELECT json_extract(value, "
        "'$.key') AS k FROM json_each(household_classification.result, '$.deprived') "
        "ORDER BY k))"
    )


__all__ = [
    "Move",
    "Outcome",
    "Unclassifiable",
    "changed",
    "class_moves",
    "classify_households",
    "commune_counts",
    "households_of",
    "on_units",
    "standards_in_round",
    "what_if",
    "within",
]
