from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from households.household.schemas import CommuneCode
from kit.contracts.households import SuccessionRelation
from kit.fields import Code, RequestBody

NewMapUnit = Annotated[Code, Field(pattern=r"^([0-9]{2}|[0-9]{5})$", examples=["25"])]
HouseholdCode = Annotated[Code, Field(min_length=1, max_length=40)]


class WaitingFor(StrEnum):
    """What a household still registered in a commune of the old map waits for.

    - `carry`: its commune went into one successor: the next carry moves it
    - `assignment`: its commune was split: an officer picks the successor
    """

    carry = "carry"  # one successor commune: the next carry moves it
    assignment = "assignment"  # several (its commune was split): an officer picks one


class CommuneRef(BaseModel):
    code: str = Field(description="A successor commune's code on the map in force.")
    name: str = Field(description="Its name.")


class Candidate(CommuneRef):
    relation: SuccessionRelation = Field(
        description="How the old commune's territory went into this one (`partial` for a split)."
    )


class OldCommune(CommuneRef):
    unit_path: list[str] = Field(description="Its unit codes from the province down.")
    valid_to: date = Field(description="Its last day in force.")


class RelocationRead(BaseModel):
    """A household still registered in a commune that is no longer in force."""

    household_id: UUID = Field(description="The household's id.")
    household_code: str = Field(description="Its code in its old commune.")
    village: str = Field(description="A hint for choosing among the candidates.")
    commune: OldCommune = Field(description="The old commune it is still registered in.")
    candidates: list[Candidate] = Field(description="The old commune's successors, by code.")
    waiting_for: WaitingFor = Field(description="What it waits for.")


class RelocationList(BaseModel):
    items: list[RelocationRead] = Field(
        description="This page's households waiting, in the list's stable order."
    )
    total: int = Field(description="How many households waiting match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")


class CarryInput(RequestBody):
    unit_code: NewMapUnit | None = Field(
        default=None,
        description="Only into communes of this unit of the map in force (a province or a "
        "commune); without it, into any commune of your scope.",
    )
    limit: int = Field(
        default=500,
        ge=1,
        le=1000,
        description="At most this many households are carried by one call; call again while "
        "`remaining` is above zero.",
    )


class CodeChange(BaseModel):
    household_id: UUID = Field(description="The household's id.")
    old_code: str = Field(description="The household's code before it was carried.")
    new_code: str = Field(description="Its code in the new commune: `<old commune code>-<code>`.")


class Held(BaseModel):
    household_id: UUID = Field(description="The household's id.")
    household_code: str = Field(description="The household's code in its old commune.")
    reason: str = Field(description="Why it was not carried, for people.")


class CarryResult(BaseModel):
    carried: int = Field(description="Households moved to their one successor commune.")
    codes_changed: list[CodeChange] = Field(
        description="Carried households whose code was taken in the new commune: they now go "
        "by `<old commune code>-<code>`."
    )
    held: list[Held] = Field(
        description="Households left where they are, each with why: assign them one by one, "
        "giving a new household code."
    )
    remaining: int = Field(
        description="Households within your reach still waiting to be carried, not counting "
        "those held."
    )


class Assignment(RequestBody):
    """Where a household of a split commune goes."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"commune_code": "08707", "household_code": "VY-0420"}]}
    )

    commune_code: CommuneCode = Field(description="One of the household's candidate communes.")
    household_code: HouseholdCode | None = Field(
        default=None,
        description="Its code in the new commune; by default its own, or `<old commune code>-"
        "<code>` when its own is taken there.",
    )
