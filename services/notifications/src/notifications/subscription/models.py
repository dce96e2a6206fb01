"""Subscriptions: who wants which events, over which units, on which channels."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, ForeignKey, String
from sqlmodel import Field

from kit.db import UtcDateTime, utc_now
from notifications.db import Base


class Channel(StrEnum):
    """Where a subscription's events go.

    - `inbox`: the subscriber's own inbox (`GET /api/v1/inbox`)
    - `webhook`: signed POSTs to `webhook_url` (Standard Webhooks), retried until delivered
    - `email`: e-mails to `email`, at once or as a daily digest (`digest`)
    """

    inbox = "inbox"
    webhook = "webhook"
    email = "email"


class Digest(StrEnum):
    """When e-mails go.

    - `immediate`: one e-mail per event, at once
    - `daily`: one e-mail a day with the day's events
    """

    immediate = "immediate"
    daily = "daily"


class Language(StrEnum):
    """The language of e-mails and inbox titles.

    - `vi`: Vietnamese
    - `en`: English
    """

    vi = "vi"
    en = "en"


class Status(StrEnum):
    active = "active"
    # The owner's access changed (role, units, deactivation): nothing is delivered until the
    # owner confirms the subscription with a token of the new access (`POST …/resume`).
    suspended = "suspended"


class Subscription(Base, table=True):
    """One subscriber's wish: events of some types over a unit subtree, on some channels.

    The owner's role and unit scope are copied from the token that created (or last resumed) it:
    deliveries are filtered by them, and a change of the owner's access suspends it."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    owner_subject: str = Field(max_length=200, index=True)
    owner_role: str = Field(max_length=40)
    owner_units: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    description: str | None = Field(default=None, max_length=200)
    unit_code: str | None = Field(default=None, max_length=5)  # None: the whole country
    channels: list[str] = Field(sa_column=Column(JSON, nullable=False))
    digest: str = Field(default=Digest.immediate, max_length=10)
    threshold_field: str | None = Field(default=None, max_length=100)
    threshold_at_least: float | None = None
    threshold_at_most: float | None = None
    email_address: str | None = Field(default=None, max_length=320)
    language: str = Field(default=Language.vi, max_length=2)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=100)
    webhook_previous_secret: str | None = Field(default=None, max_length=100)
    webhook_previous_secret_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    webhook_failed_deliveries: int = 0  # in a row; reset by a delivered one
    webhook_disabled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    status: str = Field(default=Status.active, max_length=20)
    suspended_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class SubscriptionEventType(Base, table=True):
    """One event type a subscription wants; indexed by type, so that fan-out is one query."""

    __tablename__ = "subscription_event_type"

    subscription_id: UUID = Field(
        sa_column=Column(
            ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    event_type: str = Field(
        sa_column=Column(String(120), primary_key=True, index=True, nullable=False)
    )


class KnownUnit(Base, table=True):
    """A unit and its path from the province down, as events have named them: what tells
    whether a subscription's unit lies within its owner's scope."""

    __tablename__ = "known_unit"

    code: str = Field(primary_key=True, max_length=5)
    path: list[str] = Field(sa_column=Column(JSON, nullable=False))
