"""Community digital technology teams (tổ công nghệ số cộng đồng) of a commune and their members.

A team belongs to one commune (its code, with the province and district above it, for the unit
scope of every query) and covers some of its villages for a period. Its members' names, phones and
e-mails are personal data, masked as households' are (`households.personal`).
"""

from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import JSON, ForeignKey
from sqlmodel import Column, Field

from households.db import Base
from kit.db import UtcDateTime, utc_now


class DigitalTeam(Base, table=True):
    __tablename__ = "digital_team"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    commune_code: str = Field(max_length=5, index=True)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3, index=True)  # "" on the two-level map
    name: str = Field(max_length=120)
    villages: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active_from: date
    active_to: date | None = None
    version: int = 1
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class TeamMember(Base, table=True):
    __tablename__ = "digital_team_member"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    team_id: UUID = Field(
        sa_column=Column(ForeignKey("digital_team.id"), nullable=False, index=True)
    )
    full_name: str = Field(max_length=120)
    role: str = Field(max_length=80)
    phone: str | None = Field(default=None, max_length=20)
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    left_on: date | None = None
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
