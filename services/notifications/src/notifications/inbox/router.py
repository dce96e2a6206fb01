"""Each subscriber's own inbox, with its own read state (the unit inbox stays at
`/api/v1/notifications` for officers)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, update
from sqlmodel import col, select

from kit.auth import Caller, Permission, requires
from kit.db import SessionDep, utc_now
from kit.errors import PROBLEM_RESPONSES, NotFound
from kit.fields import Offset
from notifications.inbox.models import InboxItem

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"], responses=PROBLEM_RESPONSES)
Owner = Annotated[Caller, requires(Permission.SUBSCRIPTIONS_MANAGE)]
ItemId = Annotated[UUID, Path(description="The inbox item's id (`GET /api/v1/inbox`).")]


class InboxItemRead(BaseModel):
    id: UUID = Field(description="The inbox item's id.")
    subscription_id: UUID = Field(description="The subscription that brought it.")
    event_id: UUID = Field(description="The event's message id.")
    event_type: str = Field(
        description="The event's type (`docs/events.md`), or a reminder's (`reminder.*`)."
    )
    unit_code: str | None = Field(description="The unit the event is about, when it has one.")
    title: str = Field(description="A one-line title, in the subscription's language.")
    body: str = Field(description="What happened, for people, in the subscription's language.")
    data: dict[str, Any] = Field(description="The event's data, as the catalogue defines it.")
    created_at: datetime = Field(description="When it arrived.")
    read_at: datetime | None = Field(description="When it was marked read; None: unread.")


class InboxPage(BaseModel):
    items: list[InboxItemRead] = Field(description="This page's items, newest first.")
    total: int = Field(description="Items matching `unread` (all of them without it), all pages.")
    unread: int = Field(description="Unread items of the whole inbox.")
    offset: int = Field(description="How many were skipped.")
    limit: int = Field(description="The most a page holds, as asked.")


class Marked(BaseModel):
    marked: int = Field(description="Items marked read by this call.")


@router.get("", response_model=InboxPage)
async def list_inbox(
    caller: Owner,
    session: SessionDep,
    unread: Annotated[
        bool | None,
        Query(description="true: only unread items; false: only read ones; omitted: all."),
    ] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> InboxPage:
    """Your inbox, newest first: what your subscriptions with the `inbox` channel received, and
    notices about them (a webhook disabled, a subscription suspended)."""
    mine = select(InboxItem).where(col(InboxItem.owner_subject) == caller.subject)
    filtered = mine
    if unread is True:
        filtered = mine.where(col(InboxItem.read_at).is_(None))
    elif unread is False:
        filtered = mine.where(col(InboxItem.read_at).is_not(None))
    total = (await session.exec(select(func.count()).select_from(filtered.subquery()))).one()
    unread_count = (
        await session.exec(
            select(func.count()).select_from(
                mine.where(col(InboxItem.read_at).is_(None)).subquery()
            )
        )
    ).one()
    page = filtered.order_by(col(InboxItem.created_at).desc(), col(InboxItem.id))
    items = (await session.exec(page.offset(offset).limit(limit))).all()
    return InboxPage(
        items=[InboxItemRead.model_validate(i, from_attributes=True) for i in items],
        total=total,
        unread=unread_count,
        offset=offset,
        limit=limit,
    )


@router.post("/{item_id}/read", response_model=InboxItemRead)
async def mark_inbox_item_read(caller: Owner, item_id: ItemId, session: SessionDep) -> InboxItem:
    """Mark one item of your inbox read (no one else's read state changes)."""
    item = await session.get(InboxItem, item_id)
    if item is None or item.owner_subject != caller.subject:
        raise NotFound(f"Inbox item {item_id} does not exist.")
    if item.read_at is None:
        item.read_at = utc_now()
        await session.flush()
    return item


@router.post("/read", response_model=Marked)
async def mark_inbox_read(caller: Owner, session: SessionDep) -> Marked:
    """Mark every unread item of your inbox read."""
    result = await session.exec(
        update(InboxItem)
        .where(col(InboxItem.owner_subject) == caller.subject, col(InboxItem.read_at).is_(None))
        .values(read_at=utc_now())
    )
    return Marked(marked=int(result.rowcount))
