"""Look-ups over the unit trees and the crosswalk between them. Every read can be pinned to a day
with `on`; without it, `get` answers the most recent version of a code and `search` lists every
version.

Units change only by migration (`households.migrate` seeds them before the API starts), so `get`
remembers what it found between requests (the app's `kit.cache`); the time limit bounds how long a
process that outlives a migration keeps an older answer.
"""

import unicodedata
from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.unit.models import AdminUnit, UnitLevel, UnitSuccession
from kit.cache import Reference, references_of, remembered
from kit.contracts.households import SuccessionRelation

UNITS = Reference[tuple[str, date | None], AdminUnit](
    "households.unit", max_entries=20_000, ttl_seconds=600
)


def search_key(text: str) -> str:
    """`text` in lower case without diacritics and with single spaces: "Đồng Hới" → "dong hoi"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(stripped.lower().split())


def _valid_on(on: date) -> ColumnElement[bool]:
    return and_(
        col(AdminUnit.valid_from) <= on,
        or_(col(AdminUnit.valid_to).is_(None), col(AdminUnit.valid_to) >= on),
    )


def _overlapping(unit: AdminUnit) -> ColumnElement[bool]:
    """Versions in force on at least one day of `unit`'s validity."""
    ends_after_start = or_(
        col(AdminUnit.valid_to).is_(None), col(AdminUnit.valid_to) >= unit.valid_from
    )
    if unit.valid_to is None:
        return ends_after_start
    return and_(col(AdminUnit.valid_from) <= unit.valid_to, ends_after_start)


async def get(session: AsyncSession, code: str, *, on: date | None = None) -> AdminUnit | None:
    """The version of `code` in force `on` that day, or its most recent version.

    The unit is shared with other requests and belongs to no session: read it, never change it.
    """
    return await remembered(session, UNITS, (code, on), lambda: _get(session, code, on))


async def _get(session: AsyncSession, code: str, on: date | None) -> AdminUnit | None:
    statement = select(AdminUnit).where(AdminUnit.code == code)
    if on is not None:
        statement = statement.where(_valid_on(on))
    statement = statement.order_by(col(AdminUnit.valid_from).desc()).limit(1)
    unit = (await session.exec(statement)).first()
    if unit is not None:
        # Out of the session, so that its rollback cannot expire what other requests read.
        session.expunge(unit)
    return unit


async def get_commune(
    session: AsyncSession, code: str, *, on: date | None = None
) -> AdminUnit | None:
    unit = await get(session, code, on=on)
    return unit if unit is not None and unit.level == UnitLevel.commune else None


async def communes_on(
    session: AsyncSession, codes: Iterable[str], *, on: date
) -> dict[str, AdminUnit]:
    """Of `codes`, those naming a commune (with its area) on `on`, each with that commune, as
    `get_commune` answers them: remembered ones from the app's cache, the others in one query."""
    cache = references_of(session)
    store = cache.of(UNITS) if cache is not None else None
    found: dict[str, AdminUnit] = {}
    for code in set(codes):
        unit = store.get((code, on)) if store is not None else None
        if unit is not None:
            found[code] = unit
    missing = set(codes) - found.keys()
    if missing:
        statement = select(AdminUnit).where(col(AdminUnit.code).in_(missing), _valid_on(on))
        # As `_get` chooses: the most recent version in force that day (the last one here).
        ordered = statement.order_by(col(AdminUnit.valid_from))
        for unit in await session.exec(ordered):
            found[unit.code] = unit
        for code in missing & found.keys():
            session.expunge(found[code])  # shared with other requests, as `get` shares it
            if store is not None:
                store.put((code, on), found[code])
    return {
        code: unit
        for code, unit in found.items()
        if unit.level == UnitLevel.commune and unit.area is not None
    }


async def last_ended(
    session: AsyncSession, code: str, *, before: date | None = None
) -> AdminUnit | None:
    """The most recent version of `code` whose last day came before `before` (or at all)."""
    statement = select(AdminUnit).where(
        AdminUnit.code == code, col(AdminUnit.valid_to).is_not(None)
    )
    if before is not None:
        statement = statement.where(col(AdminUnit.valid_to) < before)
    statement = statement.order_by(col(AdminUnit.valid_from).desc()).limit(1)
    return (await session.exec(statement)).first()


Lineage = list[tuple[UnitSuccession, AdminUnit]]


async def successors(session: AsyncSession, unit: AdminUnit) -> Lineage:
    """The units that took over `unit`'s territory, with how, by code."""
    return await _lineage(session, unit, ahead=True)


async def predecessors(session: AsyncSession, unit: AdminUnit) -> Lineage:
    """The units whose territory (some of it) went into `unit`, with how, by code."""
    return await _lineage(session, unit, ahead=False)


async def _lineage(session: AsyncSession, unit: AdminUnit, *, ahead: bool) -> Lineage:
    before = (col(UnitSuccession.predecessor_code), col(UnitSuccession.predecessor_valid_from))
    after = (col(UnitSuccession.successor_code), col(UnitSuccession.successor_valid_from))
    (own_code, own_from), (other_code, other_from) = (before, after) if ahead else (after, before)
    statement = (
        select(UnitSuccession, AdminUnit)
        .join(
            AdminUnit,
            and_(col(AdminUnit.code) == other_code, col(AdminUnit.valid_from) == other_from),
        )
        .where(own_code == unit.code, own_from == unit.valid_from)
        .order_by(col(AdminUnit.code))
    )
    return [(succession, found) for succession, found in await session.exec(statement)]


FATES = {
    SuccessionRelation.whole: "it was merged into",
    SuccessionRelation.partial: "it was split among",
    SuccessionRelation.unchanged: "it became",
    SuccessionRelation.renamed: "it became",
}


async def no_commune(session: AsyncSession, code: str, *, on: date | None) -> str:
    """Why `code` names no commune `on` that day, naming what took over if it ended before:
    "No commune '08731' exists on 2026-01-15; it was merged into 08713 (Phường X) on 2025-07-01."
    """
    if on is None:
        return f"No commune {code!r} exists."
    message = f"No commune {code!r} exists on {on.isoformat()}"
    ended = await last_ended(session, code, before=on)
    lineage = await successors(session, ended) if ended is not None else []
    if not lineage:
        return message + "."
    fate = FATES[lineage[0][0].relation]
    names = ", ".join(f"{unit.code} ({unit.name})" for _, unit in lineage)
    return f"{message}; {fate} {names} on {lineage[0][0].effective.isoformat()}."


def path_codes(unit: AdminUnit) -> list[str]:
    """The unit's codes from its province down to itself: three for a pre-2025 commune (province,
    district, commune), two for one of the two-level tree."""
    codes = [unit.province_code, unit.district_code, unit.code]
    return list(dict.fromkeys(code for code in codes if code is not None))


async def children(session: AsyncSession, code: str, *, on: date | None = None) -> list[AdminUnit]:
    """Units directly under `code` (as `get` resolves it), in force `on` or, without it, at some
    time during the parent's validity; empty when the parent does not exist."""
    parent = await get(session, code, on=on)
    if parent is None:
        return []
    statement = select(AdminUnit).where(
        AdminUnit.parent_code == parent.code,
        _valid_on(on) if on is not None else _overlapping(parent),
    )
    return list(
        await session.exec(statement.order_by(col(AdminUnit.code), col(AdminUnit.valid_from)))
    )


async def path(session: AsyncSession, unit: AdminUnit) -> list[AdminUnit]:
    """The unit's ancestors, province first, in force on the unit's first day, then the unit."""
    codes = [
        code
        for code in (unit.province_code, unit.district_code)
        if code is not None and code != unit.code
    ]
    if not codes:
        return [unit]
    statement = select(AdminUnit).where(col(AdminUnit.code).in_(codes), _valid_on(unit.valid_from))
    by_code = {ancestor.code: ancestor for ancestor in await session.exec(statement)}
    return [by_code[code] for code in codes if code in by_code] + [unit]


async def search(
    session: AsyncSession,
    *,
    q: str | None = None,
    level: UnitLevel | None = None,
    parent_code: str | None = None,
    on: date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AdminUnit], int]:
    """One page of units ordered by code (then validity), and how many match in all.

    `q` matches anywhere in the name, ignoring case and diacritics ("vinh yen", "dong").
    """
    conditions: list[ColumnElement[bool]] = []
    if q is not None and (key := search_key(q)):
        conditions.append(col(AdminUnit.search_name).contains(key, autoescape=True))
    if level is not None:
        conditions.append(col(AdminUnit.level) == level)
    if parent_code is not None:
        conditions.append(col(AdminUnit.parent_code) == parent_code)
    if on is not None:
        conditions.append(_valid_on(on))

    total = (
        await session.exec(select(func.count()).select_from(AdminUnit).where(*conditions))
    ).one()
    page = (
        select(AdminUnit)
        .where(*conditions)
        .order_by(col(AdminUnit.code), col(AdminUnit.valid_from))
        .offset(offset)
        .limit(limit)
    )
    return list(await session.exec(page)), total
