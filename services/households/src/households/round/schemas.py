from uuid import UUID

from pydantic import BaseModel, Field

from households.round.models import RoundBase, RoundKind
from kit.fields import Code, IsoDate, RequestBody, Text, UtcDatetime


class RoundCreate(RequestBody):
    year: int = Field(ge=2000, le=2100, description="The review year.")
    kind: RoundKind = Field(
        default=RoundKind.periodic, description="Periodic (annual) or regular (monthly) review."
    )
    reference_date: IsoDate = Field(
        description="The day the round describes: units are resolved and ages counted on it."
    )
    standard_id: Code = Field(
        min_length=1,
        max_length=40,
        examples=["VN-2022-2025"],
        description=("The poverty standard the round is assessed under (`GET /api/v1/standards`)."),
    )
    name: Text | None = Field(
        default=None,
        max_length=200,
        description="A name for people; by default from the year and kind.",
    )


class RoundRead(RoundBase):
    id: UUID = Field(description="The round's id.")
    created_at: UtcDatetime = Field(description="When it was opened (UTC).")


class RoundList(BaseModel):
    items: list[RoundRead] = Field(description="Review rounds, newest reference date first.")
    total: int = Field(description="How many rounds match.")
