"""Administrative units (province, district, commune), each version keyed by code and validity,
and the succession of old units by new ones.

Codes are reused across reforms (08707 in 2023 is not 08707 in 2026), so one code may have several
rows; `valid_from`/`valid_to` are inclusive calendar days and `valid_to` is None while in force.
"""

from datetime import date
from enum import StrEnum

from sqlalchemy import ForeignKeyConstraint, Index, UniqueConstraint
from sqlmodel import Field

from households.db import Base, stored_as_value
from kit.contracts.households import Area, SuccessionRelation


class UnitLevel(StrEnum):
    """The unit's tier in the administrative tree.

    - `province`: province or centrally run city (tỉnh, thành phố trực thuộc trung ương)
    - `district`: district level, on maps before 1 July 2025 only (huyện, quận, thị xã)
    - `commune`: commune level (xã, phường, thị trấn, đặc khu)
    """

    province = "province"
    district = "district"
    commune = "commune"


class DivisionType(StrEnum):
    """The unit's legal kind, as the first words of its Vietnamese name say it.

    - `tỉnh`: province
    - `thành phố`: city: centrally run (province level) or provincial (district level)
    - `quận`: urban district (before 1 July 2025)
    - `huyện`: rural district (before 1 July 2025)
    - `thị xã`: town (district level, before 1 July 2025)
    - `phường`: ward: an urban commune-level unit
    - `thị trấn`: township: an urban commune-level unit (before 1 July 2025)
    - `xã`: commune: a rural commune-level unit
    - `đặc khu`: special zone: an island commune-level unit (since 1 July 2025)
    """

    province = "tỉnh"
    city = "thành phố"  # centrally run city (province level) or provincial city (district level)
    urban_district = "quận"
    rural_district = "huyện"
    town = "thị xã"
    ward = "phường"
    township = "thị trấn"
    commune = "xã"
    special_zone = "đặc khu"  # island commune-level units since 1 July 2025


class AdminUnit(Base, table=True):
    __tablename__ = "admin_unit"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=5, index=True, description="Statistics office code, zero-padded.")
    name: str = Field(max_length=100)
    search_name: str = Field(
        max_length=100, description="Name in lower case without diacritics, for search."
    )
    level: UnitLevel = Field(sa_type=stored_as_value(UnitLevel, 16))
    division_type: DivisionType = Field(sa_type=stored_as_value(DivisionType, 16))
    area: Area | None = Field(
        default=None,
        sa_type=stored_as_value(Area, 8),
        description="Urban or rural; communes only (phường and thị trấn urban, xã rural, đặc khu "
        "as the SPECIAL_ZONE_AREA setting says).",
    )
    parent_code: str | None = Field(default=None, max_length=5, index=True)
    province_code: str = Field(max_length=2)
    district_code: str | None = Field(default=None, max_length=3)
    valid_from: date
    valid_to: date | None = Field(default=None, description="Last day in force, inclusive.")
    source: str = Field(max_length=100, description="Dataset and version the row was loaded from.")


class UnitSuccession(Base, table=True):
    """One edge of the official old → new crosswalk: a version of a unit and a version that took
    over (some of) its territory on `effective`."""

    __tablename__ = "unit_succession"
    __table_args__ = (
        UniqueConstraint(
            "predecessor_code",
            "predecessor_valid_from",
            "successor_code",
            "successor_valid_from",
            name="uq_unit_succession_edge",
        ),
        ForeignKeyConstraint(
            ["predecessor_code", "predecessor_valid_from"],
            ["admin_unit.code", "admin_unit.valid_from"],
        ),
        ForeignKeyConstraint(
            ["successor_code", "successor_valid_from"],
            ["admin_unit.code", "admin_unit.valid_from"],
        ),
        Index("ix_unit_succession_successor", "successor_code", "successor_valid_from"),
    )

    id: int | None = Field(default=None, primary_key=True)
    predecessor_code: str = Field(max_length=5)
    predecessor_valid_from: date
    successor_code: str = Field(max_length=5)
    successor_valid_from: date
    relation: SuccessionRelation = Field(sa_type=stored_as_value(SuccessionRelation, 16))
    effective: date = Field(description="The successor's first day.")
    source: str = Field(max_length=100, description="Dataset and version the row was loaded from.")
