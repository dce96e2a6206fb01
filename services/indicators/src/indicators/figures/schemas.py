from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

PERTURBED = "Perturbed for callers who see aggregates only (see `UnitFigures.disclosure`)."


class ClassCounts(BaseModel):
    resident: int | None = Field(description="Official denominator; None until entered.")
    surveyed: int = Field(description=PERTURBED)
    poor: int = Field(description=PERTURBED)
    near_poor: int = Field(description=PERTURBED)
    average: int = Field(description=PERTURBED)
    not_poor: int = Field(description=PERTURBED)


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
    households: int = Field(description=PERTURBED)
    share_percent: float | None = Field(
        description="Of the class's households, in % (between 0 and 100); None when it has none."
    )


class DimensionDeprivation(BaseModel):
    key: str
    name: str
    households: int = Field(
        description="Households deprived in at least one of its indicators. " + PERTURBED
    )
    share_percent: float | None


class ClassDeprivation(BaseModel):
    households: int = Field(description=PERTURBED)
    total_deprivations: int = Field(description="The sum of its indicators' counts. " + PERTURBED)
    indicators: list[IndicatorDeprivation]
    dimensions: list[DimensionDeprivation]


class Disclosure(BaseModel):
    """How the counts of an answer were protected (docs/access.md, "Small cells")."""

    method: Literal["cell_key"] = Field(
        description="Cell-key perturbation: each commune's cells moved by a deterministic noise "
        "that depends on the households in them; every other count is a sum of those."
    )
    max_noise: int = Field(description="No commune cell moves by more than this.")
    note: str


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
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for callers who see aggregates only (no `small_cells:read`): every "
        "count of households or persons is perturbed, and rates and shares are computed from "
        "the perturbed counts. None: the counts are exact.",
    )


class UnitFiguresList(BaseModel):
    items: list[UnitFigures]
