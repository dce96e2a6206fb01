from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from indicators.information.schemas import InformationFigures
from kit.fields import Code, IsoDate, RequestBody, Text

FIRST_YEAR = 2000


class Series(StrEnum):
    """Which public statistic a value is.

    - `mobile_coverage`: share of the population living where a mobile network (3G/4G) is
      available, in % (0–100)
    - `broadband_subscriptions`: fixed broadband internet subscriptions per 100 households (0–500;
      a household may hold more than one)
    - `smartphone_households`: share of households owning at least one smartphone, in % (0–100)
    """

    mobile_coverage = "mobile_coverage"
    broadband_subscriptions = "broadband_subscriptions"
    smartphone_households = "smartphone_households"


@dataclass(frozen=True)
class Measure:
    """What a series' numbers mean and the largest one accepted."""

    text: str
    maximum: float


MEASURES: dict[Series, Measure] = {
    Series.mobile_coverage: Measure("percent of population", 100.0),
    # A ratio, not a share: several subscriptions in one household are counted. 500 stops a
    # value entered per 1,000 or a count entered by mistake.
    Series.broadband_subscriptions: Measure("subscriptions per 100 households", 500.0),
    Series.smartphone_households: Measure("percent of households", 100.0),
}


class ContextRow(RequestBody):
    """One value of a public statistic for a unit and year, with its source (a CSV line)."""

    unit_code: Code = Field(
        pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
        description="The unit's code (province, district or commune) on the map of that year "
        "(the map of the year's periodic review; for a year without one, the map in force on "
        "31 December): 26 is Vĩnh Phúc until 2024, 25 is Phú Thọ from 2025. A unit of the "
        "caller's scope.",
    )
    year: int = Field(
        ge=FIRST_YEAR,
        le=2100,
        description=f"The year the statistic is of ({FIRST_YEAR} to the current year).",
    )
    series: Series = Field(description="Which statistic the value is.")
    value: float = Field(
        ge=0,
        description="The value in the series' measure: % for `mobile_coverage` and "
        "`smartphone_households` (0–100), subscriptions per 100 households for "
        "`broadband_subscriptions` (0–500).",
    )
    source_publisher: Text = Field(
        min_length=1, max_length=200, description="Who published it (an office, a ministry)."
    )
    source_title: Text = Field(
        min_length=1, max_length=300, description="The publication or table it is taken from."
    )
    source_reference: Text = Field(
        min_length=1,
        max_length=500,
        description="Where to find it: a URL, or a reference (decision or yearbook number, page).",
    )
    source_retrieved_on: IsoDate = Field(
        description="The day the value was taken from the source (not after today)."
    )
    note: Text | None = Field(
        default=None, max_length=500, description="Free text: how it was derived, caveats."
    )

    @field_validator("year")
    @classmethod
    def _not_a_year_to_come(cls, year: int) -> int:
        if year > date.today().year:
            raise ValueError(f"year {year} has not begun: statistics are of past years")
        return year

    @field_validator("value")
    @classmethod
    def _within_the_series_measure(cls, value: float, info: ValidationInfo) -> float:
        series = info.data.get("series")
        if series is not None and value > MEASURES[series].maximum:
            measure = MEASURES[series]
            raise ValueError(
                f"{series.value} is in {measure.text}: at most {measure.maximum:g}, not {value:g}"
            )
        return value

    @field_validator("source_retrieved_on")
    @classmethod
    def _retrieved_already(cls, day: date) -> date:
        if day > date.today():
            raise ValueError("the source cannot have been retrieved on a day to come")
        return day

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "unit_code": "26",
                    "year": 2022,
                    "series": "smartphone_households",
                    "value": 81.5,
                    "source_publisher": "Sở Thông tin và Truyền thông tỉnh Vĩnh Phúc",
                    "source_title": "Báo cáo chuyển đổi số năm 2022",
                    "source_reference": "https://example.gov.vn/bao-cao-cds-2022",
                    "source_retrieved_on": "2026-12-01",
                    "note": "Illustrative figure",
                }
            ]
        },
    )


class ImportResult(BaseModel):
    imported: int = Field(description="Values recorded by the import (new or replaced).")
    replaced: int = Field(
        description="Of them, values that replaced one already recorded for the same unit, "
        "year and series (a corrected figure)."
    )

    model_config: ClassVar[ConfigDict] = ConfigDict(
        json_schema_extra={"examples": [{"imported": 12, "replaced": 3}]}
    )


class Source(BaseModel):
    publisher: str = Field(description="Who published it.")
    title: str = Field(description="The publication or table it is taken from.")
    reference: str = Field(description="A URL or a reference to find it by.")
    retrieved_on: date = Field(description="The day the value was taken from the source.")


class ContextValueRead(BaseModel):
    series: Series = Field(description="Which statistic.")
    value: float = Field(description="Its value, in `measure`.")
    measure: str = Field(
        description="What the number means: `percent of population`, `percent of households` "
        "or `subscriptions per 100 households`."
    )
    source: Source = Field(description="Where it comes from.")
    note: str | None = Field(description="Free text given with it.")


class ContextYear(BaseModel):
    year: int = Field(description="The year.")
    unit_path: list[str] | None = Field(
        description="The unit's codes from its province down on that year's map (the same code "
        "names another unit before and after 1 July 2025); None when the year has figures only."
    )
    series: list[ContextValueRead] = Field(
        description="The public statistics of the unit that year, in series order; empty when "
        "none was imported."
    )
    information: InformationFigures | None = Field(
        default=None,
        description="Beside them, the unit's information dimension computed by the platform in "
        "that year's periodic round (as `GET /api/v1/information/{round_id}/{unit_code}` "
        "answers it, perturbed for roles that see aggregates only); None when the year has no "
        "periodic round with figures of the unit.",
    )


class UnitContext(BaseModel):
    """A unit's public statistics per year with its computed information-dimension rates."""

    unit_code: str = Field(description="The unit's code.")
    items: list[ContextYear] = Field(description="One entry per year, oldest first.")

    model_config: ClassVar[ConfigDict] = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "unit_code": "26",
                    "items": [
                        {
                            "year": 2022,
                            "unit_path": ["26"],
                            "series": [
                                {
                                    "series": "smartphone_households",
                                    "value": 81.5,
                                    "measure": "percent of households",
                                    "source": {
                                        "publisher": "Sở Thông tin và Truyền thông tỉnh Vĩnh Phúc",
                                        "title": "Báo cáo chuyển đổi số năm 2022",
                                        "reference": "https://example.gov.vn/bao-cao-cds-2022",
                                        "retrieved_on": "2026-12-01",
                                    },
                                    "note": "Illustrative figure",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )
