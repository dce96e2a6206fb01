import datetime as dt
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from indicators.figures.schemas import Disclosure

PERTURBED = "Perturbed for callers who see aggregates only (see `disclosure`)."


class ListOrder(StrEnum):
    """How the list is sorted (then by commune and household code).

    - `longest_waiting`: the earliest `waiting_since` first: who has waited longest
    - `shortest_waiting`: the latest first
    """

    longest_waiting = "longest_waiting"
    shortest_waiting = "shortest_waiting"


class LeftBehindHouseholdRead(BaseModel):
    """A household on the list: who the commune's digital team should visit. No names or other
    personal data: those stay in the households service (`GET /api/v1/households/{id}`, with
    its masking rules)."""

    household_id: UUID = Field(description="The household's id.")
    household_code: str = Field(description="Its code on the commune's lists.")
    commune_code: str = Field(description="The commune it was surveyed in, in the round.")
    commune_name: str | None = Field(description="That commune's name, when the survey gave it.")
    village: str | None = Field(
        description="Its village or residential group now (None until the registry told it)."
    )
    unit_path: list[str] = Field(description="Its units' codes from the province down.")
    household_class: str = Field(description="Its class in the round.")
    deprived_indicators: list[str] = Field(
        description="The information-dimension indicators of the round's standard it is "
        "deprived in (keys, e.g. telecom_use, information_devices)."
    )
    survey_date: dt.date = Field(
        description="The day its survey describes it on: the round's reference date."
    )
    last_support_on: dt.date | None = Field(
        description="The latest support recorded for it on or after the survey date and not "
        "withdrawn; None: none."
    )
    waiting_since: dt.date = Field(description="`last_support_on`, else `survey_date`.")
    waiting_days: int = Field(description="Days from `waiting_since` to `as_of` (not below 0).")
    reason: str = Field(
        description="`no_support_since_survey`, or `no_support_within_days` (supported since "
        "its survey, but not within `within_days`)."
    )


class LeftBehindList(BaseModel):
    """A page of a unit's left-behind list in a round."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "round_id": "0f9a6c3e-2b1d-4e8f-9a7c-5d3b1e0f2a46",
                    "unit_code": "08707",
                    "standard_id": "VN-2022-2025",
                    "information_indicators": ["telecom_use", "information_devices"],
                    "within_days": 90,
                    "as_of": "2026-12-05",
                    "items": [
                        {
                            "household_id": "6b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
                            "household_code": "HB-0042",
                            "commune_code": "08707",
                            "commune_name": "Xã Hợp Châu",
                            "village": "Thôn Đồng Bùa",
                            "unit_path": ["26", "248", "08707"],
                            "household_class": "poor",
                            "deprived_indicators": ["information_devices", "telecom_use"],
                            "survey_date": "2025-11-01",
                            "last_support_on": "2025-12-02",
                            "waiting_since": "2025-12-02",
                            "waiting_days": 368,
                            "reason": "no_support_within_days",
                        }
                    ],
                    "total": 1,
                    "offset": 0,
                    "limit": 50,
                }
            ]
        }
    )

    round_id: UUID = Field(description="The review round's id.")
    unit_code: str = Field(description="The unit asked for: its households are listed.")
    standard_id: str = Field(description="The round's standard.")
    information_indicators: list[str] = Field(
        description="The indicators of its information dimension, as its data defines them."
    )
    within_days: int | None = Field(
        description="The rule applied: None lists households with no support since their "
        "survey; a number lists, besides, those whose last support is older than that."
    )
    as_of: dt.date = Field(description="The day the waiting is counted to (today, in Vietnam).")
    items: list[LeftBehindHouseholdRead] = Field(description="The page's households.")
    total: int = Field(description="Households on the list in the unit (within the scope).")
    offset: int = Field(description="Households skipped before this page.")
    limit: int = Field(description="The page's size at most.")


class OutcomeRow(BaseModel):
    """Households deprived in the information dimension in the start round, followed to the
    end round. deprived_at_start = left_information_deprivation + still_deprived +
    not_resurveyed, always (perturbed counts too)."""

    deprived_at_start: int = Field(
        description="Deprived in an information indicator in the start round. " + PERTURBED
    )
    left_information_deprivation: int = Field(
        description="Surveyed in the end round and deprived in none of its standard's "
        "information indicators. " + PERTURBED
    )
    still_deprived: int = Field(
        description="Surveyed in the end round and still deprived in one. " + PERTURBED
    )
    not_resurveyed: int = Field(description="Not surveyed in the end round. " + PERTURBED)
    poor_or_near_poor_at_start: int = Field(
        description="Of `deprived_at_start`, poor or near-poor in the start round. " + PERTURBED
    )
    left_poverty: int = Field(
        description="Of those, surveyed in the end round and neither poor nor near-poor. "
        + PERTURBED
    )


class UnitOutcomes(BaseModel):
    """supported + not_supported = total, cell by cell, always (perturbed counts too)."""

    unit_code: str = Field(description="The unit's code, on the start round's map.")
    supported: OutcomeRow = Field(
        description="Households given support (not withdrawn) on or after their start survey "
        "and before the end round's reference date."
    )
    not_supported: OutcomeRow = Field(description="The others: no support in that time.")
    total: OutcomeRow = Field(description="Both rows together.")


class SupportOutcomes(BaseModel):
    """Did the help work: the information-deprived households of a unit in the start round,
    supported or not until the end round, and where they were at the end."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "from_round_id": "0f9a6c3e-2b1d-4e8f-9a7c-5d3b1e0f2a46",
                    "to_round_id": "7c2d4e6f-8a0b-4c1d-9e2f-3a4b5c6d7e8f",
                    "unit": {
                        "unit_code": "08707",
                        "supported": {
                            "deprived_at_start": 12,
                            "left_information_deprivation": 9,
                            "still_deprived": 2,
                            "not_resurveyed": 1,
                            "poor_or_near_poor_at_start": 5,
                            "left_poverty": 2,
                        },
                        "not_supported": {
                            "deprived_at_start": 20,
                            "left_information_deprivation": 4,
                            "still_deprived": 15,
                            "not_resurveyed": 1,
                            "poor_or_near_poor_at_start": 9,
                            "left_poverty": 1,
                        },
                        "total": {
                            "deprived_at_start": 32,
                            "left_information_deprivation": 13,
                            "still_deprived": 17,
                            "not_resurveyed": 2,
                            "poor_or_near_poor_at_start": 14,
                            "left_poverty": 3,
                        },
                    },
                    "children": [],
                    "disclosure": None,
                }
            ]
        }
    )

    from_round_id: UUID = Field(description="The start round's id.")
    to_round_id: UUID = Field(description="The end round's id (later, of the same kind).")
    unit: UnitOutcomes = Field(description="The unit asked for.")
    children: list[UnitOutcomes] = Field(
        description="Each unit directly under it with such households, in code order."
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for callers who see aggregates only: every commune's cells are "
        "perturbed and every other count is a sum of them. None: the counts are exact.",
    )
