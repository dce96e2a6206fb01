"""Events published by the indicators service."""

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from kit.contracts.base import Event


class HouseholdClassChangedV1(Event):
    """Published by indicators when a household's class in a round differs from its last one."""

    TYPE: ClassVar[str] = "indicators.household.class_changed.v1"

    household_id: UUID
    household_code: str
    round_id: UUID
    standard_id: str
    commune_code: str
    commune_name: str | None = None
    unit_path: list[str]
    previous_class: str | None = Field(description="None when first classified in the round.")
    new_class: str
    deprivation_count: int
