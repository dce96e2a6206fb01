from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

WITHHELD = "None when withheld as a small cell (see `UnitFigures.withheld_below`)."


class ClassCounts(BaseModel):
    resident: int | None = Field(description="Official denominator; None until entered.")
    surveyed: int | None = Field(description=WITHHELD)
    poor: int | None = Field(description=WITHHELD)
    near_poor: int | None = Field(description=WITHHELD)
    average: int | None = Field(description=WITHHELD)
    not_poor: int | None = Field(description=WITHHELD)


class Rates(BaseModel):
    poverty_rate_percent: float | None = Field(description="poor ÷ resident, in %.")
    near_poverty_rate_percent: float | None = Field(description="near-poor ÷ resident, in %.")
    multidimensional_poverty_rate_percent: float | None = Field(
        description="(poor + near-poor) ÷ resident, in %, as the ministry publishes it."
    )


class AreaFigures(BaseModel):
    households: ClassCounts
    persons: ClassCounts
    household_rates: Rates
    person_rates: Rates


class DenominatorStatus(StrEnum):
    complete = "complete"
    incomplete = "incomplete"  # some surveyed communes have no resident population entered
    unknown = "unknown"  # no resident population entered at all


class Denominator(BaseModel):
    status: DenominatorStatus
    communes_with_population: int
    communes_missing_population: int
    note: str


class IndicatorDeprivation(BaseModel):
    key: str
    dimension: str
    name: str
    households: int | None = Field(description=WITHHELD)
    share_percent: float | None = Field(description="Of the class's households, in %.")


class DimensionDeprivation(BaseModel):
    key: str
    name: str
    households: int | None = Field(
        description="Households deprived in at least one of its indicators. " + WITHHELD
    )
    share_percent: float | None


class ClassDeprivation(BaseModel):
    households: int | None = Field(description=WITHHELD)
    total_deprivations: int | None = Field(description=WITHHELD)
    indicators: list[IndicatorDeprivation]
    dimensions: list[DimensionDeprivation]


class UnitFigures(BaseModel):
    round_id: UUID
    unit_code: str
    level: str
    standard_id: str
    as_of: datetime | None = Field(description="When these figures last changed.")
    denominator: Denominator
    total: AreaFigures
    urban: AreaFigures
    rural: AreaFigures
    deprivation: dict[str, ClassDeprivation] = Field(
        description="For poor and near-poor households: deprivation per indicator and dimension."
    )
    withheld_below: int | None = Field(
        default=None,
        description="Set for callers who see aggregates only: counts from 1 to this value minus "
        "one, and any count or rate that would reveal them, are null.",
    )


class UnitFiguresList(BaseModel):
    items: list[UnitFigures]
