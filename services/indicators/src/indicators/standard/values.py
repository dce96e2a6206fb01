"""Small value types shared by a standard's sections and its rule kinds."""

from enum import StrEnum
from itertools import pairwise
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.contracts.households import Area, Sex


class Provenance(StrEnum):
    """How sure the platform is of a value of the standard. Only `C` values may ever be taken
    as settled.

    - `C`: confirmed in a legal text or an official report
    - `S`: from a secondary source (press, provincial templates)
    - `R`: recalled, unconfirmed: to be checked by an official
    """

    confirmed = "C"
    secondary = "S"
    recalled = "R"


class Definition(BaseModel):
    """Base of every part of a standard: immutable, and typos in the data file are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizedName(Definition):
    vi: str = Field(min_length=1, description="The name in Vietnamese.")
    en: str = Field(min_length=1, description="The name in English.")


class ByArea(Definition):
    """One value for rural and one for urban households (VND per person per month, or points)."""

    rural: int = Field(ge=0, description="The value for rural households.")
    urban: int = Field(ge=0, description="The value for urban households.")

    def for_area(self, area: Area) -> int:
        return self.urban if area is Area.urban else self.rural


class AgeRange(Definition):
    """Completed years at the reference date, both ends inclusive: "< 16" is `max_years = 15`."""

    min_years: int = Field(
        default=0, ge=0, description="Youngest age of the band, completed years."
    )
    max_years: int = Field(default=130, ge=0, description="Oldest age of the band, inclusive.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_years > self.max_years:
            raise ValueError(f"min_years {self.min_years} is above max_years {self.max_years}")
        return self

    def contains(self, age_years: int) -> bool:
        return self.min_years <= age_years <= self.max_years

    def label(self) -> str:
        return f"{self.min_years}–{self.max_years}"


class BySex(Definition):
    male: AgeRange = Field(description="The ages for men.")
    female: AgeRange = Field(description="The ages for women.")

    def for_sex(self, sex: Sex) -> AgeRange:
        return self.female if sex is Sex.female else self.male


def reject_overlaps(ranges: list[AgeRange], what: str) -> None:
    """Bands must not overlap, or a person of one age would be judged by two different rules."""
    ordered = sorted(ranges, key=lambda band: band.min_years)
    for lower, upper in pairwise(ordered):
        if upper.min_years <= lower.max_years:
            raise ValueError(f"{what} age bands {lower.label()} and {upper.label()} overlap")
