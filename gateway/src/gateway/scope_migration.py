"""Unit scopes written in codes of the old map (before 1 July 2025), carried onto the map in force.

A code no longer in force is replaced only where the replacement covers exactly the same
territory at the same level: the crosswalk gives it one successor, of its level, which took it
over unchanged or renamed and took nothing else. Any other replacement would widen the scope (a
commune merged whole with others: its successor covers them too) or narrow it (a split commune;
a district, abolished in 2025), so the code is refused, naming the units to choose from, and
stays as it is until an admin sets the scope explicitly (`PATCH /api/v1/admin/users/{id}`). The
households service, which owns the units, answers the look-ups (`GET /api/v1/units/{code}`,
`/successors`, `/predecessors`). Run by `python -m gateway.users migrate-scopes [--apply]`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.access import announce
from gateway.api_keys.models import ApiKey
from gateway.api_keys.service import subject_of
from gateway.units import Succession, UnitDirectory
from gateway.users.models import User
from gateway.users.service import revoke_refresh_tokens, user_subject
from kit.contracts.identity import AccessChange

EXACT = {"unchanged", "renamed"}


@dataclass
class Translation:
    units: list[str]  # the scope after the exact replacements; refused codes as they were
    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


async def translate(units: Sequence[str], lookup: UnitDirectory, on: date) -> Translation:
    """`units` with each code no longer in force `on` replaced where that is exact."""
    result = Translation(units=[])
    for code in units:
        if await lookup.level(code, on) is not None:
            result.units.append(code)
            continue
        successors = await lookup.successors(code)
        exact = await _exact(code, await lookup.level(code), successors, lookup)
        if exact is not None:
            result.units.append(exact.code)
            result.changed.append(f"{code} → {exact.code} ({exact.name}, {exact.relation})")
            continue
        result.units.append(code)
        result.refused.append(_why(code, successors, on))
    result.units = list(dict.fromkeys(result.units))
    return result


async def _exact(
    code: str, level: str | None, successors: list[Succession], lookup: UnitDirectory
) -> Succession | None:
    if len(successors) != 1 or successors[0].relation not in EXACT:
        return None
    [successor] = successors
    if successor.level != level:
        return None  # an island district became a commune-level special zone
    # "unchanged" and "renamed" already mean a sole predecessor; asked again, not assumed.
    if [unit.code for unit in await lookup.predecessors(successor.code)] != [code]:
        return None
    return successor


def _why(code: str, successors: list[Succession], on: date) -> str:
    named = ", ".join(f"{unit.code} ({unit.name})" for unit in successors)
    if not successors:
        return (
            f"{code} is not in force on {on} and took no successor (districts were abolished on "
            "2025-07-01): choose units in force"
        )
    if len(successors) > 1:
        return f"{code} was split among {named}: choose which of them (narrower), or their parent"
    if successors[0].relation in EXACT:
        return f"{code} became {named}, a unit of another level: choose units of the role's level"
    return (
        f"{code} went whole into {named}, which covers other units too: choose it explicitly "
        "(wider) or units in force within it"
    )


async def migrate(
    session: AsyncSession, lookup: UnitDirectory, *, on: date, apply: bool
) -> list[str]:
    """One line per change (made with `apply`, else proposed) and per refusal, for every user and
    unrevoked API key whose scope names a unit not in force `on`. A user whose scope changes
    loses its refresh tokens: they carry the old scope into new access tokens."""
    users = await session.exec(select(User).where(col(User.unit_scope).is_not(None)))
    keys = await session.exec(
        select(ApiKey).where(col(ApiKey.unit_scope).is_not(None), col(ApiKey.revoked_at).is_(None))
    )
    holders: list[tuple[str, User | ApiKey]] = [
        *((f"user {user.username}", user) for user in users),
        *((f"API key {key.name!r} ({key.prefix})", key) for key in keys),
    ]
    lines: list[str] = []
    for name, holder in holders:
        assert holder.unit_scope is not None
        translation = await translate(holder.unit_scope, lookup, on)
        verb = "changed" if apply else "would change"
        lines += [f"{name}: {verb} {change}" for change in translation.changed]
        lines += [f"{name}: refused {refusal}" for refusal in translation.refused]
        if apply and translation.changed:
            holder.unit_scope = sorted(translation.units)
            session.add(holder)
            # Tokens issued under the old scope are refused from now on, in every service.
            if isinstance(holder, User):
                await revoke_refresh_tokens(session, holder.id)
                await announce(session, user_subject(holder.username), AccessChange.units_changed)
            else:
                await announce(session, subject_of(holder), AccessChange.units_changed)
    return lines
