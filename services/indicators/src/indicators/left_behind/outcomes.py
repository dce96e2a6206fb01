"""Did the help work: a unit's households deprived in the information dimension in a start round,
split by whether a team supported them before the end round, and where each stood at the end.

The cohort is the unit's households deprived in an information indicator at their (latest)
survey of the start round, on the start round's map: the households the teams were to help. Each
is counted once, in its start commune, in one row (`supported` when a support record that is not
withdrawn is dated on or after its start survey date and before the end round's reference date,
else `not_supported`) and in exactly one of `left_information_deprivation`, `still_deprived`
(judged by the end round's own standard's information indicators) and `not_resurveyed`; the poor
and near-poor of them also in `poor_or_near_poor_at_start`, and in `left_poverty` when surveyed in
the end round in neither class. A unit's cells are the sums of its communes', so every identity
holds by construction, perturbed or not.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import HouseholdClassification
from indicators.figures.cell_key import RecordKeys, perturb
from indicators.figures.counts import Tally
from indicators.figures.models import RoundRef
from indicators.left_behind.models import LeftBehindHousehold, SupportCopy
from indicators.left_behind.service import IN_AT_ONCE, UNIT_COLUMNS, information_indicators
from indicators.standard.service import get_standard
from kit.auth.scope import in_unit
from kit.db import table_of

GROUPS = ("supported", "not_supported")
# The cells each household goes into; deprived_at_start is the sum of the first three.
LEAVES = (
    "left_information_deprivation",
    "still_deprived",
    "not_resurveyed",
    "poor_or_near_poor_at_start",
    "left_poverty",
)
ENDS = LEAVES[:3]
POOR_OR_NEAR_POOR = ("poor", "near_poor")
# A leaf cell: (commune, group, leaf).
Cell = tuple[str, str, str]


@dataclass
class Outcomes:
    """The cells of every commune of the unit (start round's map)."""

    unit_code: str
    depth: int  # how many codes the unit's path has
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # commune → its path
    cells: Tally[Cell] = field(default_factory=Tally)

    def children(self) -> list[str]:
        return sorted({path[self.depth] for path in self.paths.values() if len(path) > self.depth})

    def leaf_rows(self, unit_code: str) -> Iterable[tuple[Cell, int, int]]:
        communes = {c for c, path in self.paths.items() if unit_code in path}
        for cell, value, key_sum in self.cells.items():
            if cell[0] in communes:
                yield cell, value, key_sum


def supported_between(days: Iterable[date], start: date, end: date | None) -> bool:
    return any(start <= day and (end is None or day < end) for day in days)


async def outcomes(
    session: AsyncSession,
    start: RoundRef,
    end: RoundRef,
    unit_code: str,
    depth: int,
    record_keys: RecordKeys,
) -> Outcomes:
    cohort = (
        await session.exec(
            select(LeftBehindHousehold).where(
                LeftBehindHousehold.round_id == start.round_id,
                col(LeftBehindHousehold.deprived).is_(True),
                in_unit(unit_code, UNIT_COLUMNS),
            )
        )
    ).all()
    ids = sorted({row.household_id for row in cohort})
    supports: dict[UUID, list[date]] = {}
    ended: dict[UUID, HouseholdClassification] = {}
    for offset in range(0, len(ids), IN_AT_ONCE):
        some = ids[offset : offset + IN_AT_ONCE]
        support = table_of(SupportCopy).c
        given = select(support.household_id, support.given_on).where(
            support.household_id.in_(some),
            support.withdrawn.is_(False),
            support.given_on.is_not(None),
        )
        for household_id, given_on in (await session.exec(given)).all():
            supports.setdefault(household_id, []).append(given_on)
        at_end = select(HouseholdClassification).where(
            HouseholdClassification.round_id == end.round_id,
            col(HouseholdClassification.household_id).in_(some),
        )
        ended.update({row.household_id: row for row in (await session.exec(at_end)).all()})
    end_keys = set(information_indicators(get_standard(end.standard_id)))
    found = Outcomes(unit_code=unit_code, depth=depth)
    for row in cohort:
        commune = row.commune_code
        found.paths[commune] = tuple(row.unit_path)
        days = supports.get(row.household_id, ())
        group = GROUPS[0 if supported_between(days, row.survey_date, end.reference_date) else 1]
        key = record_keys(row.household_id)
        cells = [_end_of(ended.get(row.household_id), end_keys)]
        if row.household_class in POOR_OR_NEAR_POOR:
            cells.append("poor_or_near_poor_at_start")
            later = ended.get(row.household_id)
            if later is not None and later.household_class not in POOR_OR_NEAR_POOR:
                cells.append("left_poverty")
        for leaf in cells:
            found.cells.add((commune, group, leaf), 1, key)
    return found


def _end_of(later: HouseholdClassification | None, end_keys: set[str]) -> str:
    if later is None:
        return "not_resurveyed"
    deprived = {item["key"] for item in later.result["deprived"]}
    return "still_deprived" if deprived & end_keys else "left_information_deprivation"


def rows_of(cells: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """A unit's rows from its summed (group, leaf) cells: each group's, and their total."""
    rows: dict[str, dict[str, int]] = {}
    for group in GROUPS:
        row = {leaf: cells.get((group, leaf), 0) for leaf in LEAVES}
        row["deprived_at_start"] = sum(row[leaf] for leaf in ENDS)
        rows[group] = row
    rows["total"] = {
        name: rows["supported"][name] + rows["not_supported"][name] for name in rows["supported"]
    }
    return rows


def summed(rows: Iterable[tuple[Cell, int, int]], *, perturbed: bool) -> dict[tuple[str, str], int]:
    """The unit's (group, leaf) cells: its communes' cells, each perturbed by its cell key
    first when `perturbed` (as the figures' and the transitions' leaves are)."""
    totals: dict[tuple[str, str], int] = {}
    for (_, group, leaf), value, key_sum in rows:
        shown = perturb(value, key_sum, f"households.support_outcomes.{group}.{leaf}")
        totals[(group, leaf)] = totals.get((group, leaf), 0) + (shown if perturbed else value)
    return totals
