from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field

from kit.db import UtcDateTime, utc_now
from notifications.db import Base


class InboxItem(Base, table=True):
    """One message in one subscriber's own inbox, with its own read state."""

    __tablename__ = "inbox_item"
    # Each event reaches each subscription once, however often it is delivered or fanned out.
    __table_args__ = (UniqueConstraint("event_id", "subscription_id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    owner_subject: str = Field(max_length=200, index=True)
    subscription_id: UUID
    event_id: UUID
    event_type: str = Field(max_length=120)
    unit_code: str | None = Field(default=None, max_length=5)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
