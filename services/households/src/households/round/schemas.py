from uuid import UUID

from pydantic import BaseModel, Field

from households.round.models import RoundBase, RoundKind
from kit.fields import Code, IsoDate, RequestBody, Text, UtcDatetime


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
