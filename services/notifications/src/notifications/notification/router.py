from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

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
    id: UUID
    province_code: str
    district_code: str
    commune_code: str
    kind: str
    household_id: UUID | None
    round_id: UUID | None
    title: str
    message: str
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationRead]
    total: int
    offset: int
    limit: int


class MarkedRead(BaseModel):
    marked: int


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
