"""The service's copies of what restating figures onto a later map needs: the crosswalk between
the maps, and the commune each household is in now."""

from datetime import date
from uuid import UUID

from sqlalchemy import Index
from sqlmodel import Field

from indicators.db import Base


class UnitSuccessionCopy(Base, table=True):
    """One edge of an official old → new crosswalk (`households.units.successions_recorded.v1`).

    A unit is a code and the day it came into force (codes are reused by new units). The
    successor's place on the new map is kept as `successor_key`, its codes from the province down
    joined by "/": a household's current commune is that successor when its key is the same.
    """

    __tablename__ = "unit_succession_copy"
    __table_args__ = (
        Index("ix_unit_succession_copy_successor_province", "successor_province_code"),
        Index("ix_unit_succession_copy_successor", "successor_code"),
    )

    predecessor_code: str = Field(primary_key=True, max_length=5)
    predecessor_valid_from: date = Field(primary_key=True)
    successor_code: str = Field(primary_key=True, max_length=5)
    successor_valid_from: date = Field(primary_key=True)
    predecessor_province_code: str = Field(max_length=2, index=True)
    successor_level: str = Field(max_length=10)
    successor_province_code: str = Field(max_length=2)
    successor_key: str = Field(max_length=40)
    relation: str = Field(max_length=10)
    effective: date
    source: str = Field(max_length=100)
    sequence: int


class HouseholdUnitCopy(Base, table=True):
    """The commune a household is registered in now (the newest registry version wins): after a
    split, the successor an officer assigned it to."""

    __tablename__ = "household_unit_copy"

    household_id: UUID = Field(primary_key=True)
    commune_code: str = Field(max_length=5)
    unit_key: str = Field(max_length=40, description="Its unit codes, province first, by '/'.")
    version: int
    # Its village now, for the left-behind lists' visits; None for copies made before it was kept.
    village: str | None = Field(default=None, max_length=120)
