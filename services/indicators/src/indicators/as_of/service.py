"""Figures of a periodic round as of a date (DOMAIN §6, docs/review-round.md "Regular reviews").

Between periodic rounds a household may ask to enter or leave poverty; a regular round (monthly,
reference date the 15th) records the re-survey, and its result takes effect from that date. As of
a day, each household of the periodic round counts with its result in the latest regular round of
the period on or before that day (the periodic round's own when it has none), and a household
first surveyed in such a regular round (it asked to enter) counts too. The period: regular rounds
of the same standard after the periodic round's reference date and before the next periodic
round's.

One statement picks each household's latest classification among those rounds (a window over
its classifications) and groups the result as a restatement does (`figures/groups.py`): each
commune's cells carry their own cell keys, so what a restricted role sees is still a sum of
perturbed commune leaves. Households are counted in the commune of their latest result; the
resident population is the periodic round's.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import case, func
from sqlalchemy import select as sql_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import HouseholdClassification
from indicators.figures.counts import Tally
from indicators.figures.groups import deprived, group_counts, record_key
from indicators.figures.models import RoundRef
from indicators.restatement import service as restatement_service
from indicators.restatement.service import Commune, Restatement

REGULAR = "regular"
PERIODIC = "periodic"


@dataclass
class AsOf:
    """A unit of a periodic round and the communes under it, as of `day`."""

    day: date
    regular_rounds: list[UUID]
    regrouped: Restatement
    # By commune: how many of its households count with a regular round's result, and their
    # record keys' sum (the cell key of that count).
    from_regular: Tally[str] = field(default_factory=Tally)

    def from_regular_under(self, unit_code: str) -> list[tuple[int, int]]:
        return [
            (households, key_sum)
            for code, households, key_sum in self.from_regular.items()
            if households and unit_code in self.regrouped.communes[code].path
        ]


def is_regular(round_ref: RoundRef) -> bool:
    """Only a round the round-opened event said is regular (an unknown kind is not)."""
    return round_ref.kind == REGULAR


async def regular_rounds(session: AsyncSession, periodic: RoundRef, day: date) -> list[UUID]:
    """The regular rounds of the periodic round's period on or before `day`, oldest first."""
    statement = (
        select(RoundRef.round_id, RoundRef.kind)
        .where(
            RoundRef.standard_id == periodic.standard_id,
            col(RoundRef.reference_date) > periodic.reference_date,
            col(RoundRef.reference_date) <= day,
        )
        .order_by(col(RoundRef.reference_date))
    )
    rounds = []
    for round_id, kind in (await session.exec(statement)).all():
        if kind == PERIODIC:  # the next period has begun
            break
        if kind == REGULAR:
            rounds.append(round_id)
    return rounds


async def as_of(
    session: AsyncSession,
    periodic: RoundRef,
    day: date,
    level: str,
    path: tuple[str, ...],
) -> AsOf:
    """The unit at the end of `path` (of `level`), its communes counted as of `day`."""
    rounds = await regular_rounds(session, periodic, day)
    communes: dict[str, Commune] = {}
    found = AsOf(day, rounds, Restatement(level, path, communes, {}))
    for row in await _latest_groups(session, periodic.round_id, rounds, path[-1]):
        province, district, commune, household_class, area, text, households, persons = row[:8]
        key_sum, regular, regular_keys = row[8:]
        commune_path = tuple(code for code in (province, district, commune) if code)
        target = communes.setdefault(commune, Commune(commune_path))
        target.reported.add(commune)
        target.counts.update(
            group_counts(
                household_class=household_class,
                area=area,
                deprived_text=text,
                households=households,
                persons=persons,
                key_sum=key_sum,
            )
        )
        found.from_regular.add(commune, int(regular), int(regular_keys))
    for commune, metric, value in await restatement_service.populations(
        session, periodic.round_id, set(communes)
    ):
        communes[commune].counts.add(metric, value)
    return found


async def _latest_groups(
    session: AsyncSession, periodic_id: UUID, regular: Sequence[UUID], unit_code: str
) -> Sequence[Any]:
    """Each household's latest classification among the rounds, for the households whose
    latest one is in the unit, grouped by commune, class, area and deprivations, with how many
    (and which keys) come from a regular round."""
    c = HouseholdClassification
    rounds = [periodic_id, *regular]

    def own(columns: Any) -> Any:
        return {2: columns.province_code, 3: columns.district_code}.get(
            len(unit_code), columns.commune_code
        )

    # Households with any classification in the unit among the rounds: the latest of each may
    # lie elsewhere (it moved), hence the unit is tested again on the latest.
    in_unit = select(c.household_id).where(col(c.round_id).in_(rounds), own(c) == unit_code)
    latest_first = func.row_number().over(
        partition_by=col(c.household_id),
        order_by=(col(RoundRef.reference_date).desc(), col(c.classified_at).desc()),
    )
    ranked = (
        sql_select(
            col(c.province_code),
            col(c.district_code),
            col(c.commune_code),
            col(c.household_class),
            col(c.area),
            deprived(c).label("deprived"),
            col(c.persons),
            record_key(c).label("record_key"),
            case((col(c.round_id) == periodic_id, 0), else_=1).label("regular"),
            latest_first.label("rank"),
        )
        .join(RoundRef, col(RoundRef.round_id) == col(c.round_id))
        .where(col(c.round_id).in_(rounds), col(c.household_id).in_(in_unit))
        .subquery()
    )
    r = ranked.c
    grouping = (r.province_code, r.district_code, r.commune_code, r.household_class, r.area)
    # Eleven columns: more than sqlmodel's `select` and `exec` overloads type, hence SQLAlchemy's.
    statement: Any = (
        sql_select(
            *grouping,
            r.deprived,
            func.count(),
            func.sum(r.persons),
            func.sum(r.record_key),
            func.sum(r.regular),
            func.sum(r.regular * r.record_key),
        )
        .where(r.rank == 1, own(r) == unit_code)
        .group_by(*grouping, r.deprived)
    )
    return (await session.exec(statement)).all()  # type: ignore[no-any-return]
