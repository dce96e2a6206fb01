"""A unit's Alkire–Foster tallies, read set-wise from the households' classifications.

Each household's deprived indicators are in its classification's result; households are grouped
in SQL by commune, class, area and the keys of those indicators, and only per-commune counts are
kept: households by class and area (the same leaf cells as the figures, so that perturbed counts
agree), the AF-poor and, per indicator, the AF-poor deprived in it, each with the sum of its
households' record keys.
"""

import json
from collections.abc import Mapping
from fractions import Fraction
from typing import Any
from uuid import UUID

from sqlalchemy import String, cast, func, literal, literal_column
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.alkire_foster.measures import Tallies
from indicators.classification.models import HouseholdClassification
from indicators.figures.counts import Tally
from indicators.figures.disclosure import CLASSES
from kit.auth.scope import in_unit

POOR = "households.af_poor"
CENSORED = "households.af_censored."


async def commune_cells(
    session: AsyncSession,
    round_id: UUID,
    unit_code: str,
    weights: Mapping[str, Fraction],
    k: Fraction,
) -> dict[str, Tally[str]]:
    """Per commune of the unit: `(metric, value, key sum)` cells of its AF tallies.

    Households are grouped in SQL by commune, class, area and the keys of the indicators they
    are deprived in (a few thousand profiles at most), so only the groups reach Python."""
    c = HouseholdClassification
    columns = (col(c.province_code), col(c.district_code), col(c.commune_code))
    profile = _deprived_keys(session)
    statement: Any = (
        sql_select(
            col(c.commune_code),
            col(c.household_class),
            col(c.area),
            profile,
            func.count(),
            func.sum(func.coalesce(col(c.record_key), 0)),
        )
        .where(col(c.round_id) == round_id, in_unit(unit_code, columns))
        .group_by(col(c.commune_code), col(c.household_class), col(c.area), profile)
    )
    cells: dict[str, Tally[str]] = {}
    connection = await session.connection()
    for commune, household_class, area, keys, households, key_sum in (
        await connection.execute(statement)
    ).all():
        tally = cells.setdefault(commune, Tally())
        households, key_sum = int(households), int(key_sum or 0)
        tally.add(f"households.{household_class}.{area}", households, key_sum)
        one = Tallies()
        if one.add(json.loads(keys) if keys else (), weights, k):
            tally.add(POOR, households, key_sum)
            for indicator in one.censored:
                tally.add(CENSORED + indicator, households, key_sum)
    return cells


def _deprived_keys(session: AsyncSession) -> Any:
    """The keys of a classification's deprived indicators as JSON text (in the standard's order,
    so that equal profiles are equal text), in the database's own JSON functions."""
    table = HouseholdClassification.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            func.jsonb_path_query_array(
                cast(col(HouseholdClassification.result), JSONB),
                cast(literal("$.deprived[*].key"), JSONPATH),
            ),
            String,
        )
    return literal_column(
        "(SELECT json_group_array(json_extract(d.value, '$.key')) "
        f"FROM json_each({table}.result, '$.deprived') AS d)"
    )


def tallies(cells: Mapping[str, int]) -> Tallies:
    """AF tallies from summed cells `{metric: value}` (exact or perturbed)."""
    found = Tallies()
    found.households = sum(
        value
        for metric, value in cells.items()
        if metric.startswith("households.") and metric.split(".")[1] in CLASSES
    )
    found.poor = cells.get(POOR, 0)
    for metric, value in cells.items():
        if metric.startswith(CENSORED):
            found.censored[metric.removeprefix(CENSORED)] += value
    return found
