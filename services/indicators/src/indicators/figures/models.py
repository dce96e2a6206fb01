from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger
from sqlmodel import Column, Field

from indicators.db import Base
from kit.db import UtcDateTime, utc_now


class UnitFigure(Base, table=True):
    """One counter of a unit in a round, e.g. `households.poor.rural` = 42.

    Counters are a key/value table because the indicator set is data: a new standard brings new
    `deprived.poor.<indicator>` counters without a schema change. Rates are computed on read.
    `key_sum` is the sum of the record keys of the households counted (`cell_key.py`): the cell
    key from which the figures of roles without `small_cells:read` are perturbed.
    """

    __tablename__ = "unit_figure"

    round_id: UUID = Field(primary_key=True)
    unit_code: str = Field(primary_key=True, max_length=5)
    metric: str = Field(primary_key=True, max_length=80)
    value: int = 0
    key_sum: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class UnitRef(Base, table=True):
    """What the indicators service has learned of the unit tree from events."""

    __tablename__ = "unit_ref"

    unit_code: str = Field(primary_key=True, max_length=5)
    level: str = Field(max_length=10)
    parent_code: str | None = Field(default=None, max_length=5, index=True)


class PopulationCopy(Base, table=True):
    """The latest resident population of a commune in a round, by event sequence."""

    __tablename__ = "population_copy"

    round_id: UUID = Field(primary_key=True)
    unit_code: str = Field(primary_key=True, max_length=5)
    sequence: int
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class RoundRef(Base, table=True):
    """The standard a round is classified under, its reference date and kind, learned from its
    assessments and from `households.round.opened.v1`."""

    __tablename__ = "round_ref"

    round_id: UUID = Field(primary_key=True)
    standard_id: str = Field(max_length=40)
    year: int
    # The day the round's units are resolved on (its map): None for rounds learned before it was
    # kept, until their next assessment.
    reference_date: date | None = None
    # periodic or regular (DOMAIN §6), from the round-opened event: None while only assessments
    # have been seen (read as not regular).
    kind: str | None = Field(default=None, max_length=10)
