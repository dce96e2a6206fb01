import datetime as dt
from uuid import UUID

from pydantic import BaseModel, Field

from indicators.figures.schemas import Disclosure
from indicators.transitions.movements import Precedence

PERTURBED = "Perturbed for callers who see aggregates only (see `disclosure`)."


class TransitionTable(BaseModel):
    """end = start - decreases_total + increases_total, always (perturbed counts too)."""

    start: int = Field(description="In the class in the start round. " + PERTURBED)
    decreases: dict[str, int] = Field(
        description="Poor table: to_near_poor, above_near_poor, other_moved_away, other_gone "
        "(not in the end round: dissolved, merged, left), other_smaller (persons: members "
        "gone from households that stayed poor). Near-poor table: to_poor instead of "
        "to_near_poor. " + PERTURBED
    )
    increases: dict[str, int] = Field(
        description="Poor table: from_near_poor, fell_back (tái nghèo), newly (phát sinh "
        "mới), other_moved_in, other_appeared, other_returned, other_larger (persons). "
        "Near-poor table: from_poor instead of from_near_poor. " + PERTURBED
    )
    decreases_total: int
    increases_total: int
    end: int = Field(description="In the class in the end round. " + PERTURBED)


class ClassTransitions(BaseModel):
    households: TransitionTable
    persons: TransitionTable


class UnitTransitions(BaseModel):
    unit_code: str
    level: str
    poor: ClassTransitions
    near_poor: ClassTransitions


class TransitionsAnswer(BaseModel):
    from_round_id: UUID
    to_round_id: UUID
    map_date: dt.date | None = Field(
        description="The units are those of the end round's map (its reference date); the start "
        "round's households are restated onto it through the official crosswalk."
    )
    precedence: Precedence
    unit: UnitTransitions
    children: list[UnitTransitions] = Field(
        description="One per child unit, in code order: they sum to `unit`."
    )
    unassigned_households: int = Field(
        description="Start-round households of communes split by a map change that are in none "
        "of the successors (not registered there, not surveyed there in the end round): counted "
        "nowhere. " + PERTURBED
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for callers who see aggregates only: every commune's cells perturbed "
        "by their cell keys, every other count a sum of those. None: exact.",
    )


class TransitionHousehold(BaseModel):
    household_id: UUID
    household_code: str
    start_class: str | None = Field(description="None: not in the start round.")
    end_class: str | None = Field(description="None: not in the end round.")
    start_commune: str | None = Field(description="On the end round's map.")
    end_commune: str | None
    rows: list[str] = Field(description="The table rows it is counted in, as `table.row`.")


class TransitionHouseholdList(BaseModel):
    items: list[TransitionHousehold]
    total: int
    offset: int
    limit: int
