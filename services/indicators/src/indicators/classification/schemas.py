"""The result of classifying one household under one standard, with the reasons for it."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kit.contracts.households import Area


class HouseholdClass(StrEnum):
    """A household's class under the round's standard.

    - `poor`: hộ nghèo: income test passed and at least 3 deprivations (VN-2022-2025)
    - `near_poor`: hộ cận nghèo: income test passed and fewer deprivations
    - `average`: hộ có mức sống trung bình: income above the line, within the average band
    - `not_poor`: above the average band
    """

    poor = "poor"
    near_poor = "near_poor"
    average = "average"
    not_poor = "not_poor"


class IncomeTestMethod(StrEnum):
    """What decided the income test.

    - `score`: the income-proxy score A from the survey form (when given, it decides)
    - `income`: the measured income, VND per person per month
    """

    score = "score"
    income = "income"


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class IncomeTestResult(Result):
    method: IncomeTestMethod = Field(description="Score A when recorded, else measured income.")
    income_score_a: int | None = Field(description="Score A as recorded; null if not scored.")
    monthly_income_per_person: int | None = Field(
        description="Measured income, VND per person per month; null if not measured."
    )
    limit_applied: int = Field(description="The score cut-off or the income line compared against.")
    income_line: int = Field(description="L for the household's area, VND per person per month.")
    average_band_upper: int = Field(description="U for the household's area; the band is (L, U].")
    passed: bool = Field(description="Score or income at or below the limit.")
    in_average_band: bool | None = Field(
        description="L < income <= U; None without measured income."
    )
    explanation: str = Field(description="The test in words, for people.")


class DeprivedIndicator(Result):
    key: str = Field(description="The indicator's key in the standard.")
    dimension: str = Field(description="Key of the indicator's dimension.")
    explanation: str = Field(description="The member(s) or fact that triggered the deprivation.")
    member_nos: list[int] = Field(default=[], description="Members who triggered it, if any.")


class Classification(Result):
    standard_id: str = Field(
        description="The standard the household was classified under (the round's)."
    )
    household_class: HouseholdClass = Field(description="The household's class.")
    area: Area = Field(description="Urban or rural: decides the income line.")
    income_test: IncomeTestResult = Field(
        description="The income test, with its inputs and limits."
    )
    deprivation_count: int = Field(description="D: evaluated indicators the household lacks.")
    deprivation_score: int = Field(description="B: points per deprived indicator times D.")
    deprived: list[DeprivedIndicator] = Field(
        description="The indicators the household is deprived in, each with why."
    )
    not_evaluated: list[str] = Field(description="Indicators whose inputs are not collected yet.")
    provisional: bool = Field(description="The standard or one of its indicators is provisional.")
    low_income_worker_members: list[int] | None = Field(
        description=(
            "Members flagged as low-income workers (Decree 30/2025); None when it cannot be "
            "decided (no measured income, or the standard defines no such rule) or when the "
            "caller's role may not read personal data."
        )
    )

    def without_members(self, persons: int) -> "Classification":
        """The result for a role that may not read personal data: the indicators and how many
        of the household's `persons` triggered each, but not who they are (number, age) nor
        what about each of them did (a child's health, a member's schooling)."""
        deprived = [
            indicator.model_copy(
                update={
                    "explanation": (
                        f"{len(indicator.member_nos)} of {persons} members "
                        "(who and why is personal data, withheld)"
                    ),
                    "member_nos": [],
                }
            )
            if indicator.member_nos
            else indicator
            for indicator in self.deprived
        ]
        return self.model_copy(update={"deprived": deprived, "low_income_worker_members": None})
