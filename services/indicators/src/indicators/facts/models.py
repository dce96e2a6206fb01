"""The facts an indicator needs, in a shape the database evaluates: one row per assessment with
the household's facts as columns, one row per member with the member's.

They are derived from the assessment copy (`classification/models.py`), written beside it by the
same code, and rebuilt from it where missing or older (`facts/service.py`): the copy stays the
record, these tables are what set-wise classification (`classification/compiler.py`) reads.
"""

from uuid import UUID

from sqlalchemy import BigInteger, Index
from sqlmodel import Field

from indicators.db import Base


class AssessmentFacts(Base, table=True):
    """A household's facts from the newest version of its assessment."""

    __tablename__ = "assessment_facts"
    __table_args__ = (Index("ix_assessment_facts_round", "round_id", "standard_id"),)

    assessment_id: UUID = Field(primary_key=True)
    round_id: UUID
    household_id: UUID
    sequence: int = Field(description="The copy's sequence these facts were taken from.")
    standard_id: str = Field(max_length=40)
    # Unit codes from the province down, each between slashes ("/26/243/08707/"), so that a
    # household's units are matched and grouped on one column.
    unit_path: str = Field(max_length=40)
    area: str = Field(max_length=5)
    persons: int
    has_dwelling: bool
    walls_durable: bool
    columns_durable: bool
    roof_durable: bool
    floor_area_m2: float
    water_source: str = Field(max_length=40)
    latrine: str = Field(max_length=40)
    internet_use: bool
    devices: str = Field(max_length=400, description="The devices owned, each between '|'.")
    income_score_a: int | None = None
    monthly_income_per_person: int | None = Field(default=None, sa_type=BigInteger)
    # The household's record key (`figures/cell_key.py`), summed in SQL into the cell keys, and
    # which secret it was computed under: a changed secret makes it stale.
    record_key: int | None = Field(default=None, sa_type=BigInteger)
    record_key_check: str | None = Field(default=None, max_length=16)
    # The digest of the standard (its whole content) the stored classification was computed
    # under, when known: a recalculation under the same content need not compare the stored
    # result's JSON with what the statement gives. None: unknown, compare.
    classified_under: str | None = Field(default=None, max_length=16)


class MemberFact(Base, table=True):
    """One member of a household, as of the same assessment version."""

    __tablename__ = "member_facts"

    assessment_id: UUID = Field(primary_key=True)
    # The member's place in the event's list: the contract does not make member numbers unique.
    position: int = Field(primary_key=True)
    member_no: int
    age_years: int
    sex: str = Field(max_length=10)
    working_status: str = Field(max_length=40)
    has_labour_contract: bool | None = None
    receives_pension_or_allowance: bool
    disability: str = Field(max_length=40)
    has_health_insurance: bool
    attending_school: bool
    school_level: str | None = Field(default=None, max_length=40)
    highest_qualification: str = Field(max_length=40)
    stunted: bool
    underweight: bool
