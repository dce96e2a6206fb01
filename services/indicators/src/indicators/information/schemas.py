from uuid import UUID

from pydantic import BaseModel, Field

from indicators.figures.schemas import PERTURBED, Disclosure, Freshness, MapView


class IndicatorShare(BaseModel):
    key: str = Field(description="The indicator's key in the round's standard.")
    number: int = Field(description="Its number in the standard (11: telecom use, 12: devices).")
    name: str = Field(description="Its name, in English.")
    households: int = Field(description="Households deprived in it. " + PERTURBED)
    share_percent: float | None = Field(description="Of the group's households (0–100 %).")


class Share(BaseModel):
    households: int = Field(description=PERTURBED)
    share_percent: float | None = Field(description="Of the group's households (0–100 %).")


class InformationGroup(BaseModel):
    households: int = Field(description="Surveyed households of the group. " + PERTURBED)
    indicators: list[IndicatorShare] = Field(
        description="Each indicator of the information dimension, alone (whatever the others)."
    )
    any: Share = Field(description="Deprived in at least one indicator of the dimension.")
    together: Share = Field(
        description="Deprived in two or more of its indicators: both #11 and #12 under "
        "VN-2022-2025 (both telecom indicators under VN-2027-2030)."
    )


class InformationFigures(BaseModel):
    """The information dimension (DOMAIN §1, §4: #11 telecom use, #12 information devices) of a
    unit in a round, among all surveyed households and among the poor and near-poor."""

    round_id: UUID = Field(description="The review round's id.")
    year: int | None = Field(description="The round's review year; None when it has none.")
    unit_code: str = Field(description="The unit's code.")
    standard_id: str = Field(description="The round's standard (which indicators count).")
    map: MapView = Field(description="Which map the unit and figures are on.")
    groups: dict[str, InformationGroup] = Field(
        description="`all` surveyed households, `poor`, `near_poor`, and `poor_or_near_poor`."
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for callers who see aggregates only: every count is perturbed and the "
        "shares are computed from the perturbed counts. None: the counts are exact.",
    )
    freshness: Freshness | None = Field(
        default=None, description="The latest event the figures reflect; a pending recalculation."
    )


class InformationList(BaseModel):
    items: list[InformationFigures] = Field(
        description="The dimension in each unit directly under the one asked (or each round of "
        "the trend, oldest first)."
    )
