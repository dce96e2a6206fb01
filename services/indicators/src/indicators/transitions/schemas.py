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
    decreases_total: int = Field(description="The sum of `decreases`. " + PERTURBED)
    increases_total: int = Field(description="The sum of `increases`. " + PERTURBED)
    end: int = Field(description="In the class in the end round. " + PERTURBED)


class ClassTransitions(BaseModel):
    households: TransitionTable = Field(description="The table counting households.")
    persons: TransitionTable = Field(
        description="The table counting persons (members of those households)."
    )


class UnitTransitions(BaseModel):
    unit_code: str = Field(description="The unit's code, on the end round's map.")
    level: str = Field(description="Its tier: `province`, `district` or `commune`.")
    poor: ClassTransitions = Field(description="The poor households' table (*diễn biến hộ nghèo*).")
    near_poor: ClassTransitions = Field(
        description="The near-poor households' table (*diễn biến hộ cận nghèo*)."
    )


class TransitionsAnswer(BaseModel):
    from_round_id: UUID = Field(description="The start round's id.")
    to_round_id: UUID = Field(description="The end round's id (later, of the same kind).")
    map_date: dt.date | None = Field(
        description="The units are those of the end round's map (its reference date); the start "
        "round's households are restated onto it through the official crosswalk."
    )
    precedence: Precedence = Field(
        description="How the histories the templates leave open were counted (as asked, or the "
        "defaults)."
    )
    unit: UnitTransitions = Field(description="The unit asked for.")
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
    household_id: UUID = Field(description="The household's id (`GET /api/v1/households/{id}`).")
    household_code: str = Field(description="Its code in the household registry.")
    start_class: str | None = Field(description="None: not in the start round.")
    end_class: str | None = Field(description="None: not in the end round.")
    start_commune: str | None = Field(description="On the end round's map.")
    end_commune: str | None = Field(description="None: not in the end round.")
    rows: list[str] = Field(description="The table rows it is counted in, as `table.row`.")


class TransitionHouseholdList(BaseModel):
    items: list[TransitionHousehold] = Field(
        description="This page's households, in household id order."
    )
    total: int = Field(description="How many households are in the rows asked for, all pages.")
    offset: int = Field(description="How many were skipped.")
    limit: int = Field(description="The most a page holds, as asked.")
