from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from households.unit.models import DivisionType, UnitLevel
from kit.contracts.households import Area, SuccessionRelation


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(description="Statistics office code: 2 digits, 3 digits or 5 digits.")
    name: str = Field(
        description="The unit's Vietnamese name, with its kind (e.g. Phường Vĩnh Yên)."
    )
    level: UnitLevel = Field(description="Its tier: province, district or commune.")
    division_type: DivisionType = Field(description="Its legal kind.")
    area: Area | None = Field(description="Urban or rural; communes only.")
    parent_code: str | None = Field(description="The unit directly above it; null for a province.")
    province_code: str = Field(description="Its province.")
    district_code: str | None = Field(
        description="Its district on maps before 1 July 2025; null after and for provinces."
    )
    valid_from: date = Field(description="First day in force.")
    valid_to: date | None = Field(description="Last day in force, inclusive; null while in force.")


class UnitList(BaseModel):
    items: list[UnitRead] = Field(description="This page's units, in code order.")
    total: int = Field(description="How many units match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")


class UnitSuccessionRead(BaseModel):
    """One edge of the 2025 crosswalk, seen from the unit named in the path."""

    relation: SuccessionRelation = Field(
        description="How the predecessor's territory went into the successor: `whole` (all of it, "
        "merged with others), `partial` (part of it; the predecessor was split), `unchanged` (all "
        "of it and nothing else, same name), `renamed` (all of it and nothing else, new name)."
    )
    effective: date = Field(description="The successor's first day.")
    unit: UnitRead = Field(description="The unit on the other side: successor or predecessor.")
