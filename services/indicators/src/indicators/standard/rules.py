"""Rule kinds: how an indicator is evaluated. Kinds are code; their thresholds and lists are data.

A standard's data file names a rule by `kind` and supplies its parameters; validation rejects an
unknown kind, a missing or unknown parameter and an enum value the households contract lacks.
The evaluator of each kind lives in `indicators.classification.evaluators`.
"""

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from indicators.standard.values import AgeRange, Definition, Provenance, reject_overlaps
from kit.contracts.households import (
    Device,
    Disability,
    Latrine,
    Qualification,
    SchoolLevel,
    WaterSource,
    WorkingStatus,
)


class RuleBase(Definition):
    provenance: Provenance = Field(description="Provenance of the thresholds and lists below.")
    note: str | None = Field(default=None, description="Why the values are what they are.")


class WorkingAgeMemberUnemployedOrUncontracted(RuleBase):
    """A member of working age is unemployed, or works for wages without a labour contract."""

    kind: Literal["working_age_member_unemployed_or_uncontracted"]
    unemployed_statuses: list[WorkingStatus] = Field(min_length=1)
    wage_statuses: list[WorkingStatus] = Field(min_length=1)


class DependantShareAbove(RuleBase):
    """Dependants are more than `share` of the members (exactly `share` is not deprived).

    Dependants: children in `child_ages`; members beyond working age without pension or allowance;
    members with one of `disabilities`.
    """

    kind: Literal["dependant_share_above"]
    share: float = Field(gt=0, lt=1)
    child_ages: AgeRange
    disabilities: list[Disability]


class ChildMalnourished(RuleBase):
    """A child in `child_ages` is stunted or underweight."""

    kind: Literal["child_malnourished"]
    child_ages: AgeRange


class MemberWithoutInsurance(RuleBase):
    """A member aged `min_age_years` or more has no health insurance."""

    kind: Literal["member_without_insurance"]
    min_age_years: int = Field(ge=0)


class QualificationBand(AgeRange):
    accepted: list[Qualification] = Field(min_length=1)


class AdultEducationShortfall(RuleBase):
    """A person in a band is neither in training nor holds one of the band's qualifications."""

    kind: Literal["adult_education_shortfall"]
    bands: list[QualificationBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> Self:
        reject_overlaps(list(self.bands), "adult education")
        return self


class SchoolBand(AgeRange):
    levels: list[SchoolLevel] = Field(min_length=1)


class ChildNotInSchool(RuleBase):
    """A child in a band does not attend school, or attends a level the band does not accept."""

    kind: Literal["child_not_in_school"]
    bands: list[SchoolBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> Self:
        reject_overlaps(list(self.bands), "school attendance")
        return self


class NonDurableDwelling(RuleBase):
    """No dwelling, or at least `min_non_durable_parts` of walls, columns and roof non-durable."""

    kind: Literal["non_durable_dwelling"]
    min_non_durable_parts: int = Field(ge=1, le=3)


class FloorAreaPerPersonBelow(RuleBase):
    """Floor area divided by the number of members is below `min_m2_per_person` (equal is fine)."""

    kind: Literal["floor_area_per_person_below"]
    min_m2_per_person: float = Field(gt=0)


class UnsafeWater(RuleBase):
    kind: Literal["unsafe_water"]
    safe_sources: list[WaterSource] = Field(min_length=1)


class UnhygienicLatrine(RuleBase):
    kind: Literal["unhygienic_latrine"]
    hygienic: list[Latrine] = Field(min_length=1)


class NoInternetUse(RuleBase):
    """No member uses internet services."""

    kind: Literal["no_internet_use"]


class NoInformationDevice(RuleBase):
    """The household owns none of `devices`."""

    kind: Literal["no_information_device"]
    devices: list[Device] = Field(min_length=1)


Rule = Annotated[
    WorkingAgeMemberUnemployedOrUncontracted
    | DependantShareAbove
    | ChildMalnourished
    | MemberWithoutInsurance
    | AdultEducationShortfall
    | ChildNotInSchool
    | NonDurableDwelling
    | FloorAreaPerPersonBelow
    | UnsafeWater
    | UnhygienicLatrine
    | NoInternetUse
    | NoInformationDevice,
    Field(discriminator="kind"),
]
