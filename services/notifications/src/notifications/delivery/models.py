from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import Column, ForeignKey, Index, Text, UniqueConstraint, Uuid
from sqlmodel import Field

from kit.db import UtcDateTime, utc_now
from notifications.db import Base


class DeliveryChannel(StrEnum):
    webhook = "webhook"
    email = "email"
    email_digest = "email_digest"  # one e-mail for a subscription's held events of a day


class DeliveryStatus(StrEnum):
    """Where a delivery (one event, one subscription, one channel) stands.

    - `pending`: due at `next_attempt_at` (the first attempt, or a retry)
    - `sending`: a worker is sending it now
    - `delivered`: the receiver accepted it (a 2xx answer; the e-mail server took it)
    - `failed`: every attempt failed; `redeliver` sends it again
    - `held`: waits for its daily digest
    - `cancelled`: the subscription was suspended, its webhook disabled or its channel removed
    """

    pending = "pending"  # due at next_attempt_at
    sending = "sending"  # claimed by a worker until lease_until
    delivered = "delivered"
    failed = "failed"  # every attempt failed
    held = "held"  # waits for its daily digest
    cancelled = "cancelled"  # the subscription was suspended, disabled or its channel removed


class Delivery(Base, table=True):
    """One event to one subscription on one channel: the unit of retries and of the log.

    The unique key (event, subscription, channel) is the idempotency key: fanning an event out
    again, from a redelivered message or a second worker, adds nothing. Its id is the
    `webhook-id` every attempt carries, so a receiver recognises a repeat after a worker crash.
    """

    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", "channel"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    subscription_id: UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("subscription.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event_id: UUID
    event_type: str = Field(max_length=120)
    channel: str = Field(max_length=20)
    status: str = Field(max_length=20)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # what is sent, as rendered
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    digest_day: date | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class DeliveryAttempt(Base, table=True):
    """One try of a delivery: what came back and how long it took (never the secret)."""

    __tablename__ = "delivery_attempt"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    delivery_id: UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("delivery.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    number: int
    started_at: datetime = Field(sa_type=UtcDateTime)
    latency_ms: float
    succeeded: bool
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=1000)
