"""The information dimension of a unit, from the counters its figures are made of.

Counted for every class by `figures/counts.py` (`deprived.<class>.<indicator>`,
`deprived_dimension.<class>.information`, `deprived_together.<class>.information`); for a
restricted caller those are perturbed leaves like every other count (`figures/disclosure.py`).
"""

from collections.abc import Mapping, Sequence
from datetime import date
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import freshness
from indicators.figures.counts import INFORMATION
from indicators.figures.disclosure import CLASSES
from indicators.figures.models import RoundRef
from indicators.figures.router import DISCLOSURE, shown_counters
from indicators.figures.schemas import Freshness, MapView
from indicators.information.schemas import (
    IndicatorShare,
    InformationFigures,
    InformationGroup,
    Share,
)
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller, Permission
from kit.errors import NotFound

GROUPS: dict[str, tuple[str, ...]] = {
    "all": CLASSES,
    "poor": ("poor",),
    "near_poor": ("near_poor",),
    "poor_or_near_poor": ("poor", "near_poor"),
}


def information_figures(
    *,
    round_id: UUID,
    year: int | None,
    unit_code: str,
    standard: Standard,
    map_view: MapView,
    counters: Mapping[str, int],
    restricted: bool,
) -> InformationFigures:
    return InformationFigures(
        round_id=round_id,
        year=year,
        unit_code=unit_code,
        standard_id=standard.id,
        map=map_view,
        groups={name: _group(counters, classes, standard) for name, classes in GROUPS.items()},
        disclosure=DISCLOSURE if restricted else None,
    )


def _group(
    counters: Mapping[str, int], classes: Sequence[str], standard: Standard
) -> InformationGroup:
    def total(head: str, key: str) -> int:
        return sum(counters.get(f"{head}.{c}.{key}", 0) for c in classes)

    households = sum(counters.get(f"households.{c}", 0) for c in classes)

    def share(count: int) -> float | None:
        # Perturbed counts may exceed their perturbed group: a share stays a share.
        return round(min(100.0, 100 * count / households), 4) if households else None

    indicators = [
        IndicatorShare(
            key=indicator.key,
            number=indicator.number,
            name=indicator.name.en,
            households=(count := total("deprived", indicator.key)),
            share_percent=share(count),
        )
        for indicator in standard.indicators
        if indicator.dimension == INFORMATION
    ]
    either = total("deprived_dimension", INFORMATION)
    together = total("deprived_together", INFORMATION)
    return InformationGroup(
        households=households,
        indicators=indicators,
        any=Share(households=either, share_percent=share(either)),
        together=Share(households=together, share_percent=share(together)),
    )


async def for_unit(
    session: AsyncSession,
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    map_day: date | None = None,
    *,
    children: bool = False,
) -> list[InformationFigures]:
    """The unit's information figures (or each child's with figures) as the caller may see them."""
    known = await session.get(RoundRef, round_id)
    found = await shown_counters(session, caller, round_id, unit_code, map_day, children=children)
    assert known is not None  # shown_counters answered 404 for an unknown round
    standard = get_standard(known.standard_id)
    restricted = not caller.can(Permission.SMALL_CELLS_READ)
    items = [
        information_figures(
            round_id=round_id,
            year=known.year,
            unit_code=code,
            standard=standard,
            map_view=view,
            counters=counters,
            restricted=restricted,
        )
        for code, (view, counters) in found.items()
    ]
    recalculation = await freshness.unfinished_recalculation(session, round_id)
    latest = await freshness.latest_change(session, round_id)
    for item in items:
        item.freshness = Freshness(reflects_events_until=latest, recalculation=recalculation)
    return items


async def periodic_rounds(session: AsyncSession) -> list[RoundRef]:
    """The rounds a trend runs over: every known round with a reference date, but the monthly
    regular ones, oldest first."""
    statement = select(RoundRef).where(col(RoundRef.reference_date).is_not(None))
    rounds = (await session.exec(statement)).all()
    return sorted(
        (r for r in rounds if r.kind != "regular"),
        key=lambda r: (r.reference_date or date.min, str(r.round_id)),
    )


async def trend(
    session: AsyncSession, caller: Caller, unit_code: str, map_day: date | None
) -> list[InformationFigures]:
    """The unit's information figures in each periodic round, on one map: `map_day`, else the
    latest round's; earlier rounds restated onto it. Rounds without the unit are left out; no
    round at all is 404."""
    rounds = await periodic_rounds(session)
    if rounds and map_day is None:
        map_day = rounds[-1].reference_date
    items = []
    for known in rounds:
        assert known.reference_date is not None
        assert map_day is not None
        if known.reference_date > map_day:
            continue
        day = map_day if known.reference_date < map_day else None
        try:
            items += await for_unit(session, caller, known.round_id, unit_code, day)
        except NotFound:
            continue
    if not items:
        raise NotFound(f"No figures for unit {unit_code} in any round.")
    return items
