from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.contracts import Envelope
from kit.contracts.indicators import HouseholdClassChangedV1, HouseholdClassesChangedV1
from kit.db import insert_for, table_of, utc_now
from notifications.notification.models import Notification

WATCHED_CLASSES = {"poor", "near_poor"}
CLASS_NAMES = {
    "poor": "poor (hộ nghèo)",
    "near_poor": "near-poor (hộ cận nghèo)",
    "average": "average living standard (hộ có mức sống trung bình)",
    "not_poor": "not poor",
}


async def notify_class_changes(
    session: AsyncSession,
    envelope: Envelope,
    event: HouseholdClassChangedV1 | HouseholdClassesChangedV1,
) -> int:
    """Tell the communes when households enter, leave or move between poor and near-poor, in one
    statement for a batch of changes; how many notifications were new."""
    if isinstance(event, HouseholdClassChangedV1):
        changes = [(envelope.id, event)]
    else:
        # A change of a batch: its id derived from the message's and the change's own, so that a
        # redelivered batch cannot notify twice either.
        changes = [
            (uuid5(envelope.id, f"{item.change.household_id}:{item.sequence}"), item.change)
            for item in event.changes
        ]
    now = utc_now()
    rows = [
        _notification(notification_id, change, now)
        for notification_id, change in changes
        if not {change.new_class, change.previous_class}.isdisjoint(WATCHED_CLASSES)
    ]
    if not rows:
        return 0
    statement = insert_for(session, table_of(Notification)).on_conflict_do_nothing()
    result = await session.exec(statement, params=rows)
    return int(result.rowcount)


def _notification(
    notification_id: UUID, event: HouseholdClassChangedV1, now: datetime
) -> dict[str, Any]:
    commune = event.commune_name or f"commune {event.commune_code}"
    became = CLASS_NAMES.get(event.new_class, event.new_class)
    if event.previous_class is None:
        title = f"Household {event.household_code} in {commune} is {became}"
        message = (
            f"Household {event.household_code} was classified {became} under "
            f"{event.standard_id} with {event.deprivation_count} deprivation(s)."
        )
    else:
        was = CLASS_NAMES.get(event.previous_class, event.previous_class)
        title = f"Household {event.household_code} in {commune} became {became}"
        message = (
            f"Household {event.household_code} was {was} and is now {became} under "
            f"{event.standard_id} ({event.deprivation_count} deprivation(s))."
        )
    return {
        "id": notification_id,
        "source_event_id": notification_id,
        "province_code": event.unit_path[0],
        # Communes of the two-level map (from July 2025) have no district: their path is
        # province and commune only.
        "district_code": event.unit_path[1] if len(event.unit_path) == 3 else "",
        "commune_code": event.commune_code,
        "kind": "household.class_changed",
        "household_id": event.household_id,
        "round_id": event.round_id,
        "title": title,
        "message": message,
        "created_at": now,
        "read_at": None,
    }


UNIT_COLUMNS = (Notification.province_code, Notification.district_code, Notification.commune_code)


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    unit_code: str | None,
    unread: bool | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[Notification], int]:
    statement = select(Notification).where(in_scope(caller, UNIT_COLUMNS))
    if unit_code is not None:
        statement = statement.where(in_unit(unit_code, UNIT_COLUMNS))
    if unread is True:
        statement = statement.where(col(Notification.read_at).is_(None))
    elif unread is False:
        statement = statement.where(col(Notification.read_at).is_not(None))
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(Notification.created_at).desc(), col(Notification.id))
    return (await session.exec(page.offset(offset).limit(limit))).all(), total


async def get(session: AsyncSession, notification_id: UUID) -> Notification | None:
    return await session.get(Notification, notification_id)


async def mark_read(session: AsyncSession, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = utc_now()
        await session.flush()
    return notification


async def mark_all_read(session: AsyncSession, caller: Caller, *, unit_code: str | None) -> int:
    statement = update(Notification).where(
        col(Notification.read_at).is_(None), in_scope(caller, UNIT_COLUMNS)
    )
    if unit_code is not None:
        statement = statement.where(in_unit(unit_code, UNIT_COLUMNS))
    result = await session.exec(statement.values(read_at=utc_now()))
    return int(result.rowcount)
