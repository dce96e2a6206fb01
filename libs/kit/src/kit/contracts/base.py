"""The envelope every message travels in, and the base class of every event's data."""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kit.db import utc_now


class Event(BaseModel):
    """The `data` of one event type. Subclasses set TYPE (also the routing key)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


class Envelope(BaseModel):
    """What goes on the wire: routing and ordering facts around one event's data."""

    model_config = ConfigDict(frozen=True)

    id: UUID = Field(default_factory=uuid4, description="Unique per message; the idempotency key.")
    type: str = Field(
        description="Event type and routing key, e.g. households.assessment.recorded.v1"
    )
    schema_version: int
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    producer: str
    correlation_id: str | None = Field(
        default=None, description="The request id of the HTTP request that caused the event."
    )
    actor: str | None = Field(
        default=None,
        description="Who caused the event: the user or API key (`api-key:<id>`) of the request; "
        "never a token. None for events a service raises on its own.",
    )
    subject: str = Field(description="Id of the aggregate the event is about.")
    sequence: int = Field(
        ge=1, description="Monotonic per subject; later facts have larger numbers."
    )
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        producer: str,
        subject: str,
        sequence: int,
        correlation_id: str | None = None,
        actor: str | None = None,
        occurred_at: datetime | None = None,
    ) -> "Envelope":
        return cls(
            type=event.TYPE,
            schema_version=event.SCHEMA_VERSION,
            producer=producer,
            subject=subject,
            sequence=sequence,
            correlation_id=correlation_id,
            actor=actor,
            data=event.model_dump(mode="json"),
            **({"occurred_at": occurred_at} if occurred_at else {}),
        )
