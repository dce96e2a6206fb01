from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Caller
from kit.auth.scope import in_scope, in_unit
from kit.contracts import Envelope
from kit.contracts.indicators import HouseholdClassChangedV1
from kit.db import insert_for, table_of, utc_now
from notifications.notification.models import Notification

WATCHED_CLASSES = {"poor", "near_poor"}
CLASS_NAMES = {
    "poor": "poor (hộ nghèo)",
    "near_poor": "near-poor (hộ cận nghèo)",
    "average": "average living standard (hộ có mức sống trung bình)",
    "not_poor": "not poor",
}


async def notify_class_change(
    session: AsyncSession, envelope: Envelope, event: HouseholdClassChangedV1
) -> bool:
    """Tell the commune when a household enters, leaves or moves between poor and near-poor."""
    if {event.new_class, event.previous_class}.isdisjoint(WATCHED_CLASSES):
        return False
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
    table = table_of(Notification)
    statement = (
        insert_for(session, table)
        .values(
            id=envelope.id,
            source_event_id=envelope.id,
            province_code=event.unit_path[0],
            # Communes of the two-level map (from July 2025) have no district: their path is
            # province and commune only.
            district_code=event.unit_path[1] if len(event.unit_path) == 3 else "",
            commune_code=event.commune_code,
            kind="household.class_changed",
            household_id=event.household_id,
            round_id=event.round_id,
            title=title,
            message=message,
            created_at=utc_now(),
        )
        .on_conflict_do_nothing()
    )
    await session.exec(statement)
    return True


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
