from typing import Self
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from kit.fields import Code, RequestBody, UtcDatetime


class PopulationInput(RequestBody):
    resident_households: int = Field(ge=0, le=10_000_000)
    resident_persons: int = Field(ge=0, le=100_000_000)

    @model_validator(mode="after")
    def _persons_cover_households(self) -> Self:
        if self.resident_persons < self.resident_households:
            raise ValueError("resident_persons cannot be fewer than resident_households")
        return self


class PopulationRow(PopulationInput):
    unit_code: Code = Field(pattern=r"^[0-9]{5}$")


class PopulationRead(BaseModel):
    round_id: UUID
    unit_code: str
    province_code: str
    district_code: str
    resident_households: int
    resident_persons: int
    version: int
    updated_at: UtcDatetime


class PopulationList(BaseModel):
    items: list[PopulationRead]
    total: int


class ImportResult(BaseModel):
    imported: int
