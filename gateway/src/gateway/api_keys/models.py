from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Column, String
from sqlmodel import Field

from gateway.db import Base, UnitScopeColumn
from kit.db import UtcDateTime, utc_now


class ApiKey(Base, table=True):
    """A machine client's key (another ministry's system): a role and a scope like a user's.

    The secret is shown once, at creation; the table keeps its digest and its first characters
    (so that an operator can tell keys apart)."""

    __tablename__ = "api_key"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    secret_digest: str = Field(max_length=64, unique=True)
    role: str = Field(sa_type=String(32))  # a kit.auth.Role value
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(UnitScopeColumn))
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
