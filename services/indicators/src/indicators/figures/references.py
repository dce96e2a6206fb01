"""What a figures read looks up that never changes: a round's standard and reference date, a
unit's level and path in a round.

`round_ref` and `unit_ref` rows are written once, from events, and never altered (a second
event's insert does nothing), so each API process remembers what it has found (the app's
`kit.cache`, empty after a restart). What is not known yet is asked again next time, and a path
whose ancestors are not all known yet is never remembered.
"""

from datetime import date
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import service as figures_service
from indicators.figures.service import LEVELS
from kit.cache import Reference, remembered

ROUNDS = Reference[UUID, tuple[str, date]]("indicators.round", max_entries=1_000)
PROVINCE_WIDTH = 2  # digits of a province's code (a district's three, a commune's five)
UNIT_PATHS = Reference[tuple[UUID, str], tuple[str, tuple[str, ...]]](
    "indicators.unit_path", max_entries=50_000
)


async def round_facts(session: AsyncSession, round_id: UUID) -> tuple[str, date | None] | None:
    """A known round's standard and reference date (None while not known: not remembered)."""
    incomplete: list[tuple[str, date | None]] = []

    async def load() -> tuple[str, date] | None:
        known = await figures_service.get_round(session, round_id)
        if known is None:
            return None
        if known.reference_date is None:
            incomplete.append((known.standard_id, None))  # answered, but not remembered
            return None
        return known.standard_id, known.reference_date

    found = await remembered(session, ROUNDS, round_id, load)
    return found if found is not None else next(iter(incomplete), None)


async def unit_path(
    session: AsyncSession, round_id: UUID, unit_code: str
) -> tuple[str, tuple[str, ...]] | None:
    """A unit's level in the round's tree (the round's map) and its codes from the province
    down to itself: the same code may be another unit, under other parents, in a round on
    another map (`UnitRef`)."""
    complete: list[tuple[str, tuple[str, ...]]] = []

    async def load() -> tuple[str, tuple[str, ...]] | None:
        known = await figures_service.unit_path(session, round_id, unit_code)
        if known is None:
            return None
        level, path = known[0], tuple(known[1])
        if _reaches_a_province(level, path):
            return level, path
        complete.append((level, path))  # answered, but not remembered
        return None

    found = await remembered(session, UNIT_PATHS, (round_id, unit_code), load)
    return found if found is not None else next(iter(complete), None)


async def latest_unit_path(
    session: AsyncSession, unit_code: str
) -> tuple[str, tuple[str, ...]] | None:
    """The unit's level and path on the latest map it is known on (`latest_round_of`), for a
    request that names a unit but no round."""
    round_id = await figures_service.latest_round_of(session, unit_code)
    return None if round_id is None else await unit_path(session, round_id, unit_code)


def _reaches_a_province(level: str, path: tuple[str, ...]) -> bool:
    """Whether the path's ancestors are all known: it starts at a province, and has one code
    per level on the old map (province, district, commune) or skips the district on the new."""
    if level not in LEVELS or len(path[0]) != PROVINCE_WIDTH:
        return False
    depth = LEVELS.index(level)
    return len(path) == depth + 1 or (level == LEVELS[-1] and len(path) == 2)
