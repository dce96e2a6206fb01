from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field, model_validator

from kit.fields import RequestBody
from notifications.subscription.models import Channel, Digest, Language

UNIT_CODE = r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$"


class Threshold(BaseModel):
    """Deliver a rate event only when a figure of its data passes a bound."""

    field: str = Field(
        min_length=1,
        max_length=100,
        description="A numeric field of the event's data, e.g. `poverty_rate`.",
        examples=["poverty_rate"],
    )
    at_least: float | None = Field(default=None, description="Deliver when the figure is ≥ this.")
    at_most: float | None = Field(default=None, description="Deliver when the figure is ≤ this.")

    @model_validator(mode="after")
    def one_bound(self) -> "Threshold":
        if self.at_least is None and self.at_most is None:
            raise ValueError("give at_least, at_most or both")
        return self


class SubscriptionCreate(RequestBody):
    event_types: list[str] = Field(
        min_length=1,
        max_length=100,
        description="Event types of the catalogue (`docs/events.md`) or reminders "
        "(`reminder.*`, docs/notifications.md); unknown ones are refused with the known list.",
        examples=[["households.review.province_approved.v1", "reminder.posting_period_ends"]],
    )
    unit_code: str | None = Field(
        default=None,
        pattern=UNIT_CODE,
        description="The unit whose subtree the subscription covers (province, district or "
        "commune code), within the caller's scope; omitted: the whole country, for callers "
        "whose scope is the whole country.",
        examples=["25"],
    )
    channels: list[Channel] = Field(
        min_length=1,
        description="Where the events go: one or more of `inbox`, `email`, `webhook`.",
        examples=[["inbox", "email", "webhook"]],
    )
    digest: Digest = Field(
        default=Digest.immediate,
        description="E-mail at once, or one e-mail a day with the day's events.",
    )
    threshold: Threshold | None = Field(
        default=None,
        description="Deliver rate events only when a figure passes a bound; None: every event.",
    )
    email: EmailStr | None = Field(
        default=None, description="Where e-mails go; required with the email channel.",
        examples=["lan.nguyen@phutho.gov.vn"],
    )  # fmt: skip
    language: Language = Field(default=Language.vi, description="Of e-mails and inbox titles.")
    webhook_url: str | None = Field(
        default=None,
        description="http(s) URL receiving signed POSTs; required with the webhook channel. "
        "Its host must resolve to public addresses only.",
        examples=["https://hooks.example.gov.vn/poverty-review"],
    )
    description: str | None = Field(
        default=None, max_length=200, description="Free text, for the subscriber's own use."
    )


class SubscriptionUpdate(RequestBody):
    """Only the fields sent change; the others stay as they are."""

    event_types: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The new event types (replacing the old ones), as on creation.",
    )
    channels: list[Channel] | None = Field(
        default=None, min_length=1, description="The new channels (replacing the old ones)."
    )
    digest: Digest | None = Field(default=None, description="E-mail at once, or daily.")
    threshold: Threshold | None = Field(default=None, description="A new bound for rate events.")
    email: EmailStr | None = Field(default=None, description="A new e-mail address.")
    language: Language | None = Field(
        default=None, description="The language of e-mails and inbox titles."
    )
    webhook_url: str | None = Field(
        default=None,
        description="A new http(s) URL for the webhook; its host must resolve to public "
        "addresses only.",
    )
    webhook_enabled: bool | None = Field(
        default=None, description="true enables a webhook disabled after repeated failures."
    )
    description: str | None = Field(
        default=None, max_length=200, description="Free text, for the subscriber's own use."
    )


class SubscriptionRead(BaseModel):
    id: UUID = Field(description="The subscription's id.")
    event_types: list[str] = Field(description="The event types it receives.")
    unit_code: str | None = Field(
        description="The unit whose subtree it covers; None: the whole country."
    )
    channels: list[str] = Field(description="Where the events go: `inbox`, `email`, `webhook`.")
    digest: str = Field(description="`immediate`: an e-mail per event; `daily`: a digest.")
    threshold: Threshold | None = Field(
        description="The bound rate events must pass; None: every event."
    )
    email: str | None = Field(description="Where e-mails go.")
    language: str = Field(description="`vi` or `en`: the language of e-mails and inbox titles.")
    webhook_url: str | None = Field(description="Where webhook POSTs go.")
    webhook_enabled: bool = Field(
        description="False after repeated failed deliveries disabled the webhook (enable it "
        "with `PATCH` and `webhook_enabled: true`)."
    )
    webhook_failed_deliveries: int = Field(
        description="Webhook deliveries failed in a row; a delivered one resets it."
    )
    webhook_disabled_at: datetime | None = Field(
        description="When the webhook was disabled; None: enabled."
    )
    status: str = Field(description="`active`, or `suspended` after the owner's access changed.")
    suspended_reason: str | None = Field(
        description="Why it is suspended (the owner's access changed); None when active."
    )
    description: str | None = Field(description="Free text, for the subscriber's own use.")
    created_at: datetime = Field(description="When it was created.")
    updated_at: datetime = Field(description="When it last changed.")


class SubscriptionCreated(SubscriptionRead):
    webhook_secret: str | None = Field(
        description="The webhook's signing secret (`whsec_…`): shown this once only."
    )


class SubscriptionList(BaseModel):
    items: list[SubscriptionRead] = Field(description="The caller's subscriptions, oldest first.")


class SecretRotated(BaseModel):
    webhook_secret: str = Field(description="The new signing secret, shown this once only.")
    previous_secret_valid_until: datetime = Field(
        description="Until then every request carries a second signature with the old secret."
    )


class DeliveryRead(BaseModel):
    id: UUID = Field(description="The delivery's id.")
    event_id: UUID = Field(
        description="The event's message id (the `webhook-id` header of its webhook POSTs)."
    )
    event_type: str = Field(description="The event's type, e.g. `indicators.figures.updated.v1`.")
    channel: str = Field(description="`webhook` or `email`.")
    status: str = Field(
        description="`pending`, `sending`, `delivered`, `failed`, `held` (for the daily "
        "digest) or `cancelled`."
    )
    attempts: int = Field(description="Attempts made so far.")
    next_attempt_at: datetime = Field(description="When it is (or was) due next.")
    last_error: str | None = Field(description="What the last failed attempt met; None: none.")
    created_at: datetime = Field(description="When the event was fanned out to it.")
    delivered_at: datetime | None = Field(description="When the receiver accepted it.")


class DeliveryList(BaseModel):
    items: list[DeliveryRead] = Field(description="This page's deliveries, newest first.")
    total: int = Field(description="How many deliveries match, all pages.")
    offset: int = Field(description="How many were skipped.")
    limit: int = Field(description="The most a page holds, as asked.")


class AttemptRead(BaseModel):
    number: int = Field(description="1 for the first attempt, then 2, 3, …")
    started_at: datetime = Field(description="When it started.")
    latency_ms: float = Field(description="How long the receiver took to answer, in ms.")
    succeeded: bool = Field(description="Whether the receiver accepted it.")
    status_code: int | None = Field(
        description="The receiver's HTTP status; None: no answer (timeout, refused connection)."
    )
    error: str | None = Field(description="Why it failed, when it did.")
    response_excerpt: str | None = Field(
        description="The start of the receiver's answer, secrets removed."
    )


class DeliveryDetail(DeliveryRead):
    attempts_log: list[AttemptRead] = Field(description="Each attempt, oldest first.")
