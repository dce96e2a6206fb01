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

    kind: Literal["working_age_member_unemployed_or_uncontracted"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    unemployed_statuses: list[WorkingStatus] = Field(
        min_length=1, description="Working statuses that count as unemployed."
    )
    wage_statuses: list[WorkingStatus] = Field(
        min_length=1, description="Working statuses that need a labour contract."
    )


class DependantShareAbove(RuleBase):
    """Dependants are more than `share` of the members (exactly `share` is not deprived).

    Dependants: children in `child_ages`; members beyond working age without pension or allowance;
    members with one of `disabilities`.
    """

    kind: Literal["dependant_share_above"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    share: float = Field(
        gt=0,
        lt=1,
        description=(
            "Deprived when dependants are more than this share of members (0 to 1; "
            "exactly it is not)."
        ),
    )
    child_ages: AgeRange = Field(description="Ages at which a child counts as a dependant.")
    disabilities: list[Disability] = Field(
        description="Degrees of disability that make a member a dependant."
    )


class ChildMalnourished(RuleBase):
    """A child in `child_ages` is stunted or underweight."""

    kind: Literal["child_malnourished"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    child_ages: AgeRange = Field(description="Ages of the children considered.")


class MemberWithoutInsurance(RuleBase):
    """A member aged `min_age_years` or more has no health insurance."""

    kind: Literal["member_without_insurance"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    min_age_years: int = Field(
        ge=0, description="Members from this age on must have health insurance."
    )


class QualificationBand(AgeRange):
    accepted: list[Qualification] = Field(
        min_length=1, description="Qualifications that meet the expectation at this age."
    )


class AdultEducationShortfall(RuleBase):
    """A person in a band is neither in training nor holds one of the band's qualifications."""

    kind: Literal["adult_education_shortfall"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    bands: list[QualificationBand] = Field(
        min_length=1, description="Age bands, each with the qualifications accepted at that age."
    )

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> Self:
        reject_overlaps(list(self.bands), "adult education")
        return self


class SchoolBand(AgeRange):
    levels: list[SchoolLevel] = Field(
        min_length=1, description="School levels appropriate to this age."
    )


class ChildNotInSchool(RuleBase):
    """A child in a band does not attend school, or attends a level the band does not accept."""

    kind: Literal["child_not_in_school"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    bands: list[SchoolBand] = Field(
        min_length=1, description="Age bands, each with the school levels appropriate to the age."
    )

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> Self:
        reject_overlaps(list(self.bands), "school attendance")
        return self


class NonDurableDwelling(RuleBase):
    """No dwelling, or at least `min_non_durable_parts` of walls, columns and roof non-durable."""

    kind: Literal["non_durable_dwelling"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    min_non_durable_parts: int = Field(
        ge=1,
        le=3,
        description=(
            "Deprived when at least this many of walls, columns and roof are not durable."
        ),
    )


class FloorAreaPerPersonBelow(RuleBase):
    """Floor area divided by the number of members is below `min_m2_per_person` (equal is fine)."""

    kind: Literal["floor_area_per_person_below"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    min_m2_per_person: float = Field(
        gt=0, description="Deprived below this floor area per person, m² (exactly it is not)."
    )


class UnsafeWater(RuleBase):
    kind: Literal["unsafe_water"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    safe_sources: list[WaterSource] = Field(
        min_length=1, description="Water sources that count as safe."
    )


class UnhygienicLatrine(RuleBase):
    kind: Literal["unhygienic_latrine"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    hygienic: list[Latrine] = Field(min_length=1, description="Latrines that count as hygienic.")


class NoInternetUse(RuleBase):
    """No member uses internet services."""

    kind: Literal["no_internet_use"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )


class NoInformationDevice(RuleBase):
    """The household owns none of `devices`."""

    kind: Literal["no_information_device"] = Field(
        description="The rule kind; names how the rule is evaluated."
    )
    devices: list[Device] = Field(
        min_length=1, description="Devices that count: owning one of them is enough."
    )


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
