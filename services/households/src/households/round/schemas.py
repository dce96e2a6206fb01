from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from households.round.models import RoundBase, RoundKind
from kit.fields import Code, IsoDate, RequestBody, Text


def _in_utc(value: datetime) -> datetime:
    # Every stored timestamp is UTC (kit.db.utc_now), but SQLite hands them back without a zone.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]
"""A timestamp read from the database, always answered with its zone (UTC)."""


class RoundCreate(RequestBody):
    year: int = Field(ge=2000, le=2100)
    kind: RoundKind = RoundKind.periodic
    reference_date: IsoDate
    standard_id: Code = Field(min_length=1, max_length=40, examples=["VN-2022-2025"])
    name: Text | None = Field(default=None, max_length=200)


class RoundRead(RoundBase):
    id: UUID
    created_at: UtcDatetime


class RoundList(BaseModel):
    items: list[RoundRead]
    total: int
