from datetime import datetime
from uuid import UUID, uuid4

from sqlmodel import Field

from kit.db import UtcDateTime, utc_now
from notifications.db import Base


class Notification(Base, table=True):
    """One message in a unit's in-app inbox."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    # The event's id (or, for a change of a batch, one derived from it and the change): a
    # redelivered event cannot notify twice.
    source_event_id: UUID = Field(unique=True)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3, index=True)
    commune_code: str = Field(max_length=5, index=True)
    kind: str = Field(max_length=40)
    household_id: UUID | None = Field(default=None, index=True)
    round_id: UUID | None = None
    title: str = Field(max_length=200)
    message: str = Field(max_length=1000)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime, index=True)
    read_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
