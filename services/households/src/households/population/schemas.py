from typing import Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from kit.fields import Code, RequestBody, UtcDatetime


class PopulationInput(RequestBody):
    resident_households: int = Field(
        ge=0,
        le=10_000_000,
        description=(
            "All households living in the commune at the review, listed or not: the "
            "rates' denominator."
        ),
    )
    resident_persons: int = Field(
        ge=0,
        le=100_000_000,
        description=(
            "All persons living in the commune at the review: the persons' rates' denominator."
        ),
    )

    @model_validator(mode="after")
    def _persons_cover_households(self) -> Self:
        if self.resident_persons < self.resident_households:
            raise ValueError("resident_persons cannot be fewer than resident_households")
        return self


class PopulationRow(PopulationInput):
    unit_code: Code = Field(pattern=r"^[0-9]{5}$")


class PopulationRead(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    unit_code: str = Field(description="The commune's code.")
    province_code: str = Field(description="Its province.")
    district_code: str = Field(description="Its district on maps before 1 July 2025; empty after.")
    resident_households: int = Field(
        description="All households living in the commune at the review."
    )
    resident_persons: int = Field(description="All persons living in the commune at the review.")
    version: int = Field(description="Raised by every change.")
    updated_at: UtcDatetime = Field(description="When it last changed (UTC).")


class PopulationList(BaseModel):
    items: list[PopulationRead] = Field(
        description="Resident populations of the communes in the unit, by commune code."
    )
    total: int = Field(description="How many communes have a population entered.")


class ImportResult(BaseModel):
    imported: int = Field(description="Communes whose resident population was recorded.")
