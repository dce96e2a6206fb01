from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, BigInteger, Index
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
    """A unit of a round's tree, as the round's events place it (their `unit_path`).

    Keyed by round, not by code alone: the 1 July 2025 map change reused codes (08707 in 2023 is
    a commune of district 243 of province 26; 08707 in 2026 a commune of province 25, with no
    district level), so one code has different parents on the two maps, and a round's figures
    must be read on its own map. Keyed by round rather than by map because the round's events
    are what its counters were added along (`on_units` of the same paths): the tree and the
    counters cannot disagree, every event carries its round, and no map periods or reference
    dates need be known (a population event may come before any assessment tells the round's
    reference date). The cost is one copy of the tree per round: a few rows per commune against
    the round's hundred-odd counters per unit.
    """

    __tablename__ = "unit_ref"
    # A unit's children in a round: the figures' /children and the subtree walks.
    __table_args__ = (Index("ix_unit_ref_round_id_parent_code", "round_id", "parent_code"),)

    round_id: UUID = Field(primary_key=True)
    unit_code: str = Field(primary_key=True, max_length=5)
    level: str = Field(max_length=10)
    parent_code: str | None = Field(default=None, max_length=5)


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
