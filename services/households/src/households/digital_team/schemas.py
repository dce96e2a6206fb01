from datetime import date
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.config import JsonDict

from kit.fields import IsoDate, RequestBody, Text, UtcDatetime

Village = Annotated[Text, StringConstraints(min_length=1, max_length=120)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 .-]{8,20}$")]
# The shape only: whether the address reaches anyone is the team's business, not the registry's.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class TeamCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Tổ công nghệ số cộng đồng thôn 1–3",
                    "villages": ["Thôn 1", "Thôn 2", "Thôn 3"],
                    "active_from": "2025-07-01",
                }
            ]
        }
    )

    name: Text = Field(min_length=1, max_length=120, description="The team's name.")
    villages: list[Village] = Field(
        min_length=1,
        max_length=200,
        description="The villages or residential groups (thôn, tổ dân phố) the team covers.",
    )
    active_from: IsoDate = Field(
        description="The first day of the team's work; the commune must be in force that day."
    )
    active_to: IsoDate | None = Field(
        default=None, description="The team's last day, if it was dissolved; null while active."
    )

    @model_validator(mode="after")
    def _period_in_order(self) -> Self:
        if self.active_to is not None and self.active_to < self.active_from:
            raise ValueError("active_to is before active_from")
        return self


class TeamUpdate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"villages": ["Thôn 1", "Thôn 2"], "active_to": None}]}
    )

    name: Text | None = Field(
        default=None, min_length=1, max_length=120, description="A new name; leave out to keep."
    )
    villages: list[Village] | None = Field(
        default=None, min_length=1, max_length=200, description="The villages it covers now."
    )
    active_from: IsoDate | None = Field(default=None, description="A corrected first day.")
    active_to: IsoDate | None = Field(
        default=None, description="The team's last day (null: active again); leave out to keep."
    )


class TeamMemberCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "full_name": "Trần Thị Lan",
                    "role": "Tổ trưởng",
                    "phone": "0912 345 678",
                    "email": "lan.tt@example.vn",
                }
            ]
        }
    )

    full_name: Text = Field(
        min_length=1, max_length=120, description="The member's full name. Personal data."
    )
    role: Text = Field(
        min_length=1,
        max_length=80,
        description="The member's role in the team (tổ trưởng, thành viên, đoàn viên…).",
    )
    phone: Phone | None = Field(default=None, description="A phone number. Personal data.")
    email: Email | None = Field(default=None, description="An e-mail address. Personal data.")


class TeamMemberUpdate(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phone": "0987 654 321"}]})

    full_name: Text | None = Field(
        default=None, min_length=1, max_length=120, description="A corrected name. Personal data."
    )
    role: Text | None = Field(default=None, min_length=1, max_length=80, description="A new role.")
    phone: Phone | None = Field(default=None, description="A new phone (null: none).")
    email: Email | None = Field(default=None, description="A new e-mail (null: none).")


class TeamMemberDeactivation(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"left_on": "2026-06-30"}]})

    left_on: IsoDate = Field(
        description="The member's last day in the team: support given after it is refused."
    )


MEMBER_EXAMPLE: JsonDict = {
    "id": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "team_id": "0b7e4c1a-2f3d-4e5a-9b6c-7d8e9f0a1b2c",
    "full_name": "Trần Thị Lan",
    "role": "Tổ trưởng",
    "phone": "0912 345 678",
    "email": "lan.tt@example.vn",
    "active": True,
    "left_on": None,
    "personal_data_masked": False,
}
TEAM_EXAMPLE: JsonDict = {
    "id": "0b7e4c1a-2f3d-4e5a-9b6c-7d8e9f0a1b2c",
    "commune_code": "08707",
    "name": "Tổ công nghệ số cộng đồng thôn 1–3",
    "villages": ["Thôn 1", "Thôn 2", "Thôn 3"],
    "active_from": "2025-07-01",
    "active_to": None,
    "version": 1,
    "members": [MEMBER_EXAMPLE],
    "created_at": "2025-07-03T02:15:00Z",
    "updated_at": "2025-07-03T02:15:00Z",
}


class TeamMemberRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [MEMBER_EXAMPLE]})

    id: UUID = Field(description="The member's id: support records name it.")
    team_id: UUID = Field(description="The member's team.")
    full_name: str = Field(description="Full name. Personal data (`***` when masked).")
    role: str = Field(description="The member's role in the team.")
    phone: str | None = Field(default=None, description="Phone. Personal data (`***` when masked).")
    email: str | None = Field(
        default=None, description="E-mail. Personal data (`***` when masked)."
    )
    active: bool = Field(description="False once the member left the team.")
    left_on: date | None = Field(
        default=None, description="The member's last day in the team, if they left."
    )
    personal_data_masked: bool = Field(
        default=False, description="Name, phone and e-mail withheld (the caller's role)."
    )


class TeamRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [TEAM_EXAMPLE]})

    id: UUID = Field(description="The team's id.")
    commune_code: str = Field(description="The commune it works in.")
    name: str = Field(description="The team's name.")
    villages: list[str] = Field(description="The villages or residential groups it covers.")
    active_from: date = Field(description="The first day of its work.")
    active_to: date | None = Field(default=None, description="Its last day; null while active.")
    version: int = Field(description="Raised by every change; its ETag is this number.")
    members: list[TeamMemberRead] = Field(description="Its members, active ones first.")
    created_at: UtcDatetime = Field(description="When it was recorded (UTC).")
    updated_at: UtcDatetime = Field(description="When it was last changed (UTC).")


class TeamList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [TEAM_EXAMPLE], "total": 1, "offset": 0, "limit": 50}]
        }
    )

    items: list[TeamRead] = Field(description="This page's teams, oldest first.")
    total: int = Field(description="How many teams match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")
