from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from kit.contracts.households import Device, SupportKind
from kit.fields import IsoDate, RequestBody, Text, UtcDatetime


class SupportInput(RequestBody):
    """What a member of the household's commune's digital team gave or did, and when."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "device_given",
                    "device": "smartphone",
                    "given_on": "2026-11-20",
                    "member_id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
                    "note": "Máy do doanh nghiệp viễn thông tài trợ.",
                },
                {
                    "kind": "internet_subscription",
                    "subscription_months": 12,
                    "given_on": "2026-11-20",
                    "member_id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
                },
            ]
        }
    )

    kind: SupportKind = Field(description="What was given or done.")
    device: Device | None = Field(
        default=None, description="The device given: required for `device_given`, else left out."
    )
    subscription_months: int | None = Field(
        default=None,
        ge=1,
        le=120,
        description="Months of internet subscription supported: required for "
        "`internet_subscription`, else left out.",
    )
    given_on: IsoDate = Field(
        description="The day it was given or done: not in the future, not before the household "
        "was registered (or first surveyed)."
    )
    member_id: UUID = Field(
        description="The team member who gave it: of a team of the household's commune, active "
        "that day (`GET /api/v1/communes/{code}/digital-teams` lists them)."
    )
    note: Text | None = Field(
        default=None, max_length=1000, description="A note about the visit. Personal data."
    )


class WithdrawalInput(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Entered for the wrong household."}]}
    )

    reason: Text = Field(
        min_length=1, max_length=1000, description="Why the record was entered in error."
    )


SUPPORT_EXAMPLE: JsonDict = {
    "id": "3c9d2e1f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
    "household_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "household_code": "VY-0001",
    "commune_code": "08707",
    "kind": "device_given",
    "device": "smartphone",
    "subscription_months": None,
    "given_on": "2026-11-20",
    "team_id": "0b7e4c1a-2f3d-4e5a-9b6c-7d8e9f0a1b2c",
    "member_id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "note": "Máy do doanh nghiệp viễn thông tài trợ.",
    "recorded_by": "user:commune",
    "recorded_at": "2026-11-20T03:40:00Z",
    "import_id": None,
    "withdrawn_at": None,
    "withdrawal_reason": None,
    "personal_data_masked": False,
}


class SupportRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUPPORT_EXAMPLE]})

    id: UUID = Field(description="The support record's id.")
    household_id: UUID = Field(description="The household supported.")
    household_code: str = Field(default="", description="Its code in its commune.")
    commune_code: str = Field(description="The household's commune when it was recorded.")
    kind: SupportKind = Field(description="What was given or done.")
    device: Device | None = Field(
        default=None, description="The device given (`device_given` only)."
    )
    subscription_months: int | None = Field(
        default=None, description="Months of subscription supported (`internet_subscription` only)."
    )
    given_on: date = Field(description="The day it was given or done.")
    team_id: UUID = Field(description="The member's team.")
    member_id: UUID = Field(description="The team member who gave it.")
    note: str | None = Field(
        default=None, description="The note. Personal data (`***` when masked)."
    )
    recorded_by: str = Field(description="Who recorded it.")
    recorded_at: UtcDatetime = Field(description="When it was recorded (UTC).")
    import_id: UUID | None = Field(
        default=None, description="The bulk import it came from, if any."
    )
    withdrawn_at: UtcDatetime | None = Field(
        default=None,
        description="When it was withdrawn as entered in error (UTC); null while it counts.",
    )
    withdrawal_reason: str | None = Field(default=None, description="Why it was withdrawn.")
    personal_data_masked: bool = Field(
        default=False, description="The note withheld (the caller's role)."
    )


class SupportList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [SUPPORT_EXAMPLE], "total": 1, "offset": 0, "limit": 50}]
        }
    )

    items: list[SupportRead] = Field(description="This page's records, newest `given_on` first.")
    total: int = Field(description="How many records match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")
