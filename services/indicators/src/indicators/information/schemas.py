from uuid import UUID

from pydantic import BaseModel, Field

from indicators.figures.schemas import PERTURBED, Disclosure, Freshness, MapView


class IndicatorShare(BaseModel):
    key: str
    number: int
    name: str
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

    round_id: UUID
    year: int | None
    unit_code: str
    standard_id: str
    map: MapView
    groups: dict[str, InformationGroup] = Field(
        description="`all` surveyed households, `poor`, `near_poor`, and `poor_or_near_poor`."
    )
    disclosure: Disclosure | None = None
    freshness: Freshness | None = None


class InformationList(BaseModel):
    items: list[InformationFigures]
