from datetime import date, datetime

from sqlalchemy import JSON
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class ContextValue(Base, table=True):
    """A public statistic of a unit in a year (`series`: mobile coverage, broadband subscriptions,
    households with a smartphone), with where it comes from; shown beside the unit's computed
    information-dimension rates, never mixed into them.

    Keyed by code and year: a code names the unit of that year's map (the 1 July 2025 reform
    reused codes), and `unit_path` is that unit's path, resolved when the value was imported,
    for scope checks. A second import of the same key replaces the value (a corrected figure).
    """

    __tablename__ = "context_value"

    unit_code: str = Field(primary_key=True, max_length=5)
    year: int = Field(primary_key=True)
    series: str = Field(primary_key=True, max_length=40)
    unit_path: list[str] = Field(sa_column=Column(JSON, nullable=False))
    value: float
    source_publisher: str = Field(max_length=200)
    source_title: str = Field(max_length=300)
    source_reference: str = Field(max_length=500)
    source_retrieved_on: date
    note: str | None = Field(default=None, max_length=500)
    imported_by: str = Field(max_length=200)
    imported_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
