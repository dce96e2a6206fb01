"""The audit log: written in the same transaction as the change it records, so neither exists
without the other. The actor is the subject of the request's verified token."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.logging import current_actor, current_request_id

COLUMNS = (AuditEntry.province_code, AuditEntry.district_code, AuditEntry.commune_code)


def changes_between(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The fields whose values differ, with both values (JSON-ready mappings)."""
    return {
        field: {"old": old.get(field), "new": new.get(field)}
        for field in sorted(set(old) | set(new))
        if old.get(field) != new.get(field)
    }


def record(
    session: AsyncSession,
    action: str,
    *,
    unit: tuple[str | None, str | None, str | None] = (None, None, None),
    household_id: UUID | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    province, district, commune = unit
    session.add(
        AuditEntry(
            actor=current_actor() or "unknown",
            action=action,
            household_id=household_id,
            province_code=province,
            district_code=district,
            commune_code=commune,
            changes=changes or {},
            request_id=current_request_id(),
        )
    )


def record_bulk_read(
    session: AsyncSession,
    action: str,
    caller: Caller,
    *,
    unit_code: str | None,
    query: dict[str, Any],
    rows: int,
) -> None:
    """A list that returned personal data: who asked, for what, and how many rows came back.

    It is filed under the caller's own scope (one entry per unit of it), or under the unit it
    asked for when that unit is one of its scope's: never under a unit only named in a filter,
    which would let anyone write into another commune's log. The filters stay in the query."""
    if unit_code is not None and (caller.unit_scope is None or unit_code in caller.unit_scope):
        units: tuple[str | None, ...] = (unit_code,)
    else:
        units = caller.unit_scope or (None,)
    changes = {"query": {"unit_code": unit_code, **query}, "rows": rows}
    for code in units:
        record(session, action, unit=_columns_of(code), changes=changes)


def _columns_of(code: str | None) -> tuple[str | None, str | None, str | None]:
    """A unit code in the column of its level (province 2 digits, district 3, commune 5)."""
    province, district, commune = (code if code and len(code) == n else None for n in (2, 3, 5))
    return province, district, commune


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    household_id: UUID | None,
    unit_code: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[AuditEntry], int]:
    statement = select(AuditEntry).where(in_scope(caller, COLUMNS))
    if household_id is not None:
        statement = statement.where(AuditEntry.household_id == household_id)
    if unit_code is not None:
        statement = statement.where(in_unit(unit_code, COLUMNS))
    if actor is not None:
        statement = statement.where(AuditEntry.actor == actor)
    if since is not None:
        statement = statement.where(col(AuditEntry.at) >= since)
    if until is not None:
        statement = statement.where(col(AuditEntry.at) < until)
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return (await session.exec(page.offset(offset).limit(limit))).all(), total
