"""A poverty standard as data: the shape every file in `standard/data/` must have."""

from collections import Counter
from collections.abc import Sequence
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from indicators.standard.rules import Rule
from indicators.standard.values import ByArea, BySex, Definition, LocalizedName, Provenance

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class StandardStatus(StrEnum):
    """Whether a standard's text is settled.

    - `in_force`: enacted and complete
    - `provisional`: enacted, but some indicators are not yet known exactly
    """

    in_force = "in_force"
    provisional = "provisional"


class LegalReference(Definition):
    text: str = Field(
        min_length=1, description="The legal text (decree, circular, decision) and article."
    )
    provenance: Provenance = Field(description="How sure the platform is of it.")


class Section(Definition):
    provenance: Provenance = Field(description="How sure the platform is of these values.")
    basis: str = Field(min_length=1, description="Legal text or source the values come from.")


class IncomeTest(Section):
    """The income side (VND per person per month), and the field proxy: score A."""

    poverty_line: ByArea = Field(
        description="L: the income line, VND per person per month, by area."
    )
    average_band_upper: ByArea = Field(description="Top of the average band (L, U], inclusive.")
    score_cutoff: ByArea = Field(description="Income test passed when score A <= cut-off.")

    @model_validator(mode="after")
    def _band_above_line(self) -> Self:
        for area in ("rural", "urban"):
            if getattr(self.average_band_upper, area) <= getattr(self.poverty_line, area):
                raise ValueError(f"{area} average band upper bound is not above the poverty line")
        return self


class DeprivationScore(Section):
    """Score B: points per deprived indicator; poor needs B >= `poor_min_score`."""

    points_per_indicator: int = Field(gt=0, description="Points of score B per deprived indicator.")
    poor_min_score: int = Field(
        gt=0, description="Poor needs at least this score B (with the income test passed)."
    )


class WorkingAge(Section):
    """Working age by sex; older members are "beyond working age" for the dependants rule."""

    by_sex: BySex = Field(description="The working ages by sex.")


class LowIncomeWorker(Section):
    """Members of working age in a household neither poor nor near-poor, income <= ceiling."""

    income_ceiling: ByArea = Field(
        description=(
            "Income at or below which a member is a low-income worker, VND per person "
            "per month, by area."
        )
    )


class Dimension(Definition):
    key: str = Field(pattern=KEY_PATTERN, description="The dimension's key.")
    name: LocalizedName = Field(description="Its name in Vietnamese and English.")
    provenance: Provenance = Field(description="How sure the platform is of it.")


class Indicator(Definition):
    key: str = Field(pattern=KEY_PATTERN, description="The indicator's key.")
    number: int = Field(ge=1, description="Its number in the standard (1–12 under VN-2022-2025).")
    dimension: str = Field(description="Key of the dimension the indicator belongs to.")
    name: LocalizedName = Field(description="Its name in Vietnamese and English.")
    deprived_if: str = Field(min_length=1, description="The rule in words, for people.")
    provenance: Provenance = Field(description="Provenance of the indicator's name and grouping.")
    provisional: bool = Field(
        default=False,
        description="Its exact text is not yet known: results using it are provisional.",
    )
    rule: Rule | None = Field(
        default=None,
        description="How to evaluate it; absent while its inputs are not collected.",
    )
    not_evaluated_reason: str | None = Field(
        default=None, description="Why it has no rule yet (inputs not collected)."
    )

    @model_validator(mode="after")
    def _unevaluable_says_why(self) -> Self:
        if self.rule is None and not self.not_evaluated_reason:
            raise ValueError(f"indicator {self.key!r} has no rule and no not_evaluated_reason")
        return self


class StandardSummary(Definition):
    id: str = Field(description="The standard's id.")
    name: LocalizedName = Field(description="Its name in Vietnamese and English.")
    status: StandardStatus = Field(description="Whether its text is settled.")
    review_years: list[int] = Field(description="The review years it applies to.")
    province_code: str | None = Field(
        description="A province's own, higher standard; null for the national one."
    )
    income_lines: ByArea = Field(description="Its income lines, VND per person per month, by area.")


class Standard(Definition):
    """One version of a poverty standard. A change makes a new version, never an edit in place."""

    id: str = Field(
        pattern=r"^[A-Z0-9][A-Za-z0-9-]*$", description="The standard's id, e.g. `VN-2022-2025`."
    )
    name: LocalizedName = Field(description="Its name in Vietnamese and English.")
    status: StandardStatus = Field(description="Whether its text is settled.")
    review_years: list[int] = Field(min_length=1, description="The review years it applies to.")
    province_code: str | None = Field(
        default=None, description="Set when a province defines a higher local standard."
    )
    legal_basis: list[LegalReference] = Field(
        min_length=1, description="The legal texts it comes from."
    )
    income_test: IncomeTest = Field(
        description="The income side: lines, average band, score cut-offs."
    )
    deprivation_score: DeprivationScore = Field(
        description="Score B and the score that makes a household poor."
    )
    working_age: WorkingAge = Field(description="Working age by sex.")
    low_income_worker: LowIncomeWorker | None = Field(
        default=None, description="The low-income-worker flag (Decree 30/2025); null where none."
    )
    dimensions: list[Dimension] = Field(min_length=1, description="The dimensions, in order.")
    indicators: list[Indicator] = Field(
        min_length=1, description="The indicators with their rules, in order."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _reject_duplicates("review year", self.review_years)
        _reject_duplicates("dimension key", [dimension.key for dimension in self.dimensions])
        _reject_duplicates("indicator key", [indicator.key for indicator in self.indicators])
        _reject_duplicates("indicator number", [indicator.number for indicator in self.indicators])
        dimension_keys = {dimension.key for dimension in self.dimensions}
        for indicator in self.indicators:
            if indicator.dimension not in dimension_keys:
                raise ValueError(
                    f"indicator {indicator.key!r} names unknown dimension {indicator.dimension!r}"
                )
        return self

    @property
    def is_provisional(self) -> bool:
        return self.status is StandardStatus.provisional or any(
            indicator.provisional for indicator in self.indicators
        )

    def summary(self) -> StandardSummary:
        return StandardSummary(
            id=self.id,
            name=self.name,
            status=self.status,
            review_years=self.review_years,
            province_code=self.province_code,
            income_lines=self.income_test.poverty_line,
        )


def _reject_duplicates(what: str, values: Sequence[str | int]) -> None:
    repeated = [value for value, count in Counter(values).items() if count > 1]
    if repeated:
        raise ValueError(f"duplicate {what}: {', '.join(map(str, repeated))}")
