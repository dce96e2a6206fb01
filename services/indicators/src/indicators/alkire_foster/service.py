"""A unit's Alkire–Foster tallies, read from the households' classifications by streaming.

Each household's deprived indicators are in its classification's result; the rows are read in
partitions (never all at once) and only their per-commune counts are kept: households by class
and area (the same leaf cells as the figures, so that perturbed counts agree), the AF-poor and,
per indicator, the AF-poor deprived in it, each with the sum of its households' record keys.
"""

from collections.abc import Mapping
from fractions import Fraction
from typing import Any
from uuid import UUID

from sqlalchemy import select as sql_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.alkire_foster.measures import Tallies
from indicators.classification.models import HouseholdClassification
from indicators.figures.counts import Tally
from indicators.figures.disclosure import CLASSES
from kit.auth.scope import in_unit

POOR = "households.af_poor"
CENSORED = "households.af_censored."
PARTITION = 10_000


async def commune_cells(
    session: AsyncSession,
    round_id: UUID,
    unit_code: str,
    weights: Mapping[str, Fraction],
    k: Fraction,
) -> dict[str, Tally[str]]:
    """Per commune of the unit: `(metric, value, key sum)` cells of its AF tallies."""
    c = HouseholdClassification
    columns = (col(c.province_code), col(c.district_code), col(c.commune_code))
    statement: Any = sql_select(
        col(c.commune_code),
        col(c.household_class),
        col(c.area),
        col(c.result)["deprived"],
        col(c.record_key),
    ).where(col(c.round_id) == round_id, in_unit(unit_code, columns))
    cells: dict[str, Tally[str]] = {}
    result = await session.stream(statement.execution_options(yield_per=PARTITION))
    async for partition in result.partitions(PARTITION):
        for commune, household_class, area, deprived, record_key in partition:
            tally = cells.setdefault(commune, Tally())
            key = int(record_key or 0)
            tally.add(f"households.{household_class}.{area}", 1, key)
            one = Tallies()
            if one.add((item["key"] for item in deprived or ()), weights, k):
                tally.add(POOR, 1, key)
                for indicator in one.censored:
                    tally.add(CENSORED + indicator, 1, key)
    return cells


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
