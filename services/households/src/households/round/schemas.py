from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from households.round.models import RoundBase, RoundKind


class RoundCreate(BaseModel):
    year: int = Field(ge=2000, le=2100)
    kind: RoundKind = RoundKind.periodic
    reference_date: date
    standard_id: str = Field(max_length=40, examples=["VN-2022-2025"])
    name: str | None = Field(default=None, max_length=200)


class RoundRead(RoundBase):
    id: UUID
    created_at: datetime


class RoundList(BaseModel):
    items: list[RoundRead]
    total: int
