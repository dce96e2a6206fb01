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
    channels: list[Channel] = Field(min_length=1, examples=[["inbox", "email", "webhook"]])
    digest: Digest = Field(
        default=Digest.immediate,
        description="E-mail at once, or one e-mail a day with the day's events.",
    )
    threshold: Threshold | None = None
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
    description: str | None = Field(default=None, max_length=200)


class SubscriptionUpdate(RequestBody):
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    channels: list[Channel] | None = Field(default=None, min_length=1)
    digest: Digest | None = None
    threshold: Threshold | None = None
    email: EmailStr | None = None
    language: Language | None = None
    webhook_url: str | None = None
    webhook_enabled: bool | None = Field(
        default=None, description="true enables a webhook disabled after repeated failures."
    )
    description: str | None = Field(default=None, max_length=200)


class SubscriptionRead(BaseModel):
    id: UUID
    event_types: list[str]
    unit_code: str | None
    channels: list[str]
    digest: str
    threshold: Threshold | None
    email: str | None
    language: str
    webhook_url: str | None
    webhook_enabled: bool
    webhook_failed_deliveries: int
    webhook_disabled_at: datetime | None
    status: str = Field(description="`active`, or `suspended` after the owner's access changed.")
    suspended_reason: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionRead):
    webhook_secret: str | None = Field(
        description="The webhook's signing secret (`whsec_…`): shown this once only."
    )


class SubscriptionList(BaseModel):
    items: list[SubscriptionRead]


class SecretRotated(BaseModel):
    webhook_secret: str = Field(description="The new signing secret, shown this once only.")
    previous_secret_valid_until: datetime = Field(
        description="Until then every request carries a second signature with the old secret."
    )


class DeliveryRead(BaseModel):
    id: UUID
    event_id: UUID
    event_type: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryRead]
    total: int
    offset: int
    limit: int


class AttemptRead(BaseModel):
    number: int
    started_at: datetime
    latency_ms: float
    succeeded: bool
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryDetail(DeliveryRead):
    attempts_log: list[AttemptRead]
