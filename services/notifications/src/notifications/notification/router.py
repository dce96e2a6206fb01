from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, NotFound
from kit.fields import Offset
from notifications.notification import service as notification_service
from notifications.notification.models import Notification

router = APIRouter(
    prefix="/api/v1/notifications", tags=["notifications"], responses=PROBLEM_RESPONSES
)
InboxReader = Annotated[Caller, requires(Permission.NOTIFICATIONS_READ)]
UnitCode = Annotated[
    str | None,
    Query(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$", description="Province, district or commune"),
]


class NotificationRead(BaseModel):
    id: UUID = Field(description="The notification's id.")
    province_code: str = Field(description="The province it concerns.")
    district_code: str = Field(description="Its district on maps before 1 July 2025; empty after.")
    commune_code: str = Field(description="The commune it concerns.")
    kind: str = Field(
        description="What happened, as the event type, e.g. `household.class_changed`."
    )
    household_id: UUID | None = Field(description="The household concerned, if one is.")
    round_id: UUID | None = Field(description="The round concerned, if one is.")
    title: str = Field(description="A short title, for the inbox list.")
    message: str = Field(description="What happened, for people.")
    created_at: datetime = Field(description="When it was created (UTC).")
    read_at: datetime | None = Field(
        description="When it was marked read (UTC); null while unread."
    )


class NotificationList(BaseModel):
    items: list[NotificationRead] = Field(
        description="This page's notifications, in the list's stable order."
    )
    total: int = Field(description="How many notifications match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")


class MarkedRead(BaseModel):
    marked: int = Field(description="Notifications marked read by this call.")


@router.get("", response_model=NotificationList)
async def list_notifications(
    caller: InboxReader,
    session: SessionDep,
    unit_code: UnitCode = None,
    unread: Annotated[
        bool | None, Query(description="true: only unread; false: only read; absent: all.")
    ] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> NotificationList:
    """The inbox of the caller's units (within one if given), newest first; `unread=true` for
    the unread ones only."""
    items, total = await notification_service.search(
        session, caller, unit_code=unit_code, unread=unread, offset=offset, limit=limit
    )
    return NotificationList(
        items=[NotificationRead.model_validate(n, from_attributes=True) for n in items],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.post("/{notification_id}/read", response_model=NotificationRead)
async def mark_notification_read(
    caller: InboxReader, notification_id: UUID, session: SessionDep
) -> Notification:
    """Mark one notification read."""
    notification = await notification_service.get(session, notification_id)
    if notification is None or not caller.may_see(
        (notification.province_code, notification.district_code, notification.commune_code)
    ):
        raise NotFound(f"Notification {notification_id} does not exist.")
    return await notification_service.mark_read(session, notification)


@router.post("/read", response_model=MarkedRead)
async def mark_all_read(
    caller: InboxReader, session: SessionDep, unit_code: UnitCode = None
) -> MarkedRead:
    """Mark every unread notification of the caller's units (within one if given) read."""
    marked = await notification_service.mark_all_read(session, caller, unit_code=unit_code)
    return MarkedRead(marked=marked)
