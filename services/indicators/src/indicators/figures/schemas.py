import datetime as dt
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
    households: ClassCounts = Field(description="Households by class.")
    persons: ClassCounts = Field(description="Persons (members of those households) by class.")
    household_rates: Rates = Field(description="Rates over resident households.")
    person_rates: Rates = Field(description="Rates over resident persons.")


class DenominatorStatus(StrEnum):
    """Whether the rates' denominators (resident households and persons) are all entered.

    - `complete`: every surveyed commune has its resident population
    - `incomplete`: some surveyed communes have none: rates leave them out
    - `unknown`: no resident population entered at all: no rates
    """

    complete = "complete"
    incomplete = "incomplete"  # some surveyed communes have no resident population entered
    unknown = "unknown"  # no resident population entered at all


class Denominator(BaseModel):
    status: DenominatorStatus = Field(
        description="Whether every surveyed commune's resident population is entered."
    )
    communes_with_population: int = Field(
        description="Surveyed communes with a resident population."
    )
    communes_missing_population: int = Field(
        description="Surveyed communes without one: left out of the rates."
    )
    communes_split: int = Field(
        default=0,
        description="Restated figures: as-reported communes split among several units of the "
        "map, whose resident population cannot be divided (rates are withheld).",
    )
    note: str = Field(description="What this means for the rates, for people.")


class IndicatorDeprivation(BaseModel):
    key: str = Field(description="The indicator's key.")
    dimension: str = Field(description="Its dimension's key.")
    name: str = Field(description="Its name.")
    households: int = Field(description=PERTURBED)
    share_percent: float | None = Field(
        description="Of the class's households, in % (between 0 and 100); None when it has none."
    )


class DimensionDeprivation(BaseModel):
    key: str = Field(description="The dimension's key.")
    name: str = Field(description="Its name.")
    households: int = Field(
        description="Households deprived in at least one of its indicators. " + PERTURBED
    )
    share_percent: float | None = Field(
        description="Of the class's households, in %; null when it has none."
    )


class ClassDeprivation(BaseModel):
    households: int = Field(description=PERTURBED)
    total_deprivations: int = Field(description="The sum of its indicators' counts. " + PERTURBED)
    indicators: list[IndicatorDeprivation] = Field(
        description="Each indicator: how many of the class's households are deprived in it."
    )
    dimensions: list[DimensionDeprivation] = Field(
        description="Each dimension: how many are deprived in at least one of its indicators."
    )


class Disclosure(BaseModel):
    """How the counts of an answer were protected (docs/access.md, "Small cells")."""

    method: Literal["cell_key"] = Field(
        description="Cell-key perturbation: each commune's cells moved by a deterministic noise "
        "that depends on the households in them; every other count is a sum of those."
    )
    max_noise: int = Field(description="No commune cell moves by more than this.")
    note: str = Field(description="What the perturbation means for reading the figures.")


class MapView(BaseModel):
    """Which map the unit and its figures are on (DOMAIN §7: units are code and validity)."""

    as_reported: bool = Field(
        description="True: the units in force on the round's reference date. False: restated "
        "onto the map in force on `date`, re-aggregated from the households' classifications."
    )
    date: dt.date | None = Field(
        description="The day of the map: the round's reference date as reported (None when not "
        "known yet), the `map` asked for when restated."
    )


class RegularReviews(BaseModel):
    """Figures of a periodic round as of a date (`as_of`): regular rounds' results applied."""

    as_of: dt.date = Field(
        description="Each household counts with its result in the latest regular round of the "
        "period on or before this day, else with its periodic round's; households first "
        "surveyed in such a regular round count too."
    )
    regular_rounds: int = Field(description="Regular rounds of the period up to that day.")
    households: int = Field(
        description="Households of the unit whose result comes from a regular round. " + PERTURBED
    )


class ReviewStatus(StrEnum):
    """Whether figures are final.

    - `approved`: every commune of the unit has approved its lists
    - `provisional`: some communes are still under review: figures may change
    """

    approved = "approved"
    provisional = "provisional"


class RecalculationMark(BaseModel):
    id: UUID = Field(description="The recalculation job's id (`GET /api/v1/recalculations/{id}`).")
    status: Literal["queued", "running"] = Field(
        description="`queued`: not started yet; `running`: under way."
    )
    progress_percent: float = Field(description="How far it has gone (0–100 %).")
    requested_at: datetime = Field(description="When it was requested.")


class Freshness(BaseModel):
    """What the figures reflect, and whether they are about to change (docs/reports.md)."""

    reflects_events_until: datetime | None = Field(
        description="The time of the latest event applied to these figures: the unit's counters' "
        "last change (for restated figures and figures as of a date, the round's). Events "
        "still in the households service's outbox or on the broker are not visible here."
    )
    recalculation: RecalculationMark | None = Field(
        description="A recalculation of the round that is queued or running: when it ends, "
        "its counters replace these. None: no recalculation pending."
    )


class UnitFigures(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    unit_code: str = Field(description="The unit's code.")
    level: str = Field(description="Its tier: `province`, `district` or `commune`.")
    standard_id: str = Field(description="The round's standard.")
    as_of: datetime | None = Field(
        description="When these figures last changed; None for restated figures and figures "
        "as of a date (`regular_reviews`)."
    )
    map: MapView = Field(description="Which map the unit and figures are on.")
    status: ReviewStatus = Field(
        description="approved: final. A commune when its review is approved; a district when "
        "every commune under it with surveyed households is; a province when it approved the "
        "round and no commune was reopened since. Restated: when every as-reported commune "
        "whose households it counts is approved. Else provisional."
    )
    communes: int = Field(
        description="As-reported communes with surveyed households that the figures count."
    )
    approved_communes: int = Field(description="Of those, how many have an approved review.")
    comparable: bool = Field(
        default=True,
        description="False when households of a split commune that may belong to this unit "
        "have not been assigned to one of its successors yet: the counts are incomplete.",
    )
    unassigned_households: int = Field(
        default=0,
        description="Restated figures: surveyed households of split communes not yet assigned "
        "to a successor, that may belong to this unit (counted nowhere). " + PERTURBED,
    )
    regular_reviews: RegularReviews | None = Field(
        default=None,
        description="Set for figures asked `as_of` a date: the regular rounds applied. None: "
        "the round's own results.",
    )
    denominator: Denominator = Field(description="Whether the rates' denominators are complete.")
    total: AreaFigures = Field(description="Counts and rates of the whole unit.")
    urban: AreaFigures = Field(description="Counts and rates of its urban households.")
    rural: AreaFigures = Field(description="Counts and rates of its rural households.")
    deprivation: dict[str, ClassDeprivation] = Field(
        description="For poor and near-poor households: deprivation per indicator and dimension."
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for callers who see aggregates only (no `small_cells:read`): every "
        "count of households or persons is perturbed, and rates and shares are computed from "
        "the perturbed counts. None: the counts are exact.",
    )
    freshness: Freshness | None = Field(
        default=None, description="The latest event the figures reflect; a pending recalculation."
    )


class UnitFiguresList(BaseModel):
    items: list[UnitFigures] = Field(
        description="Figures of each unit directly under the one asked, by code."
    )
