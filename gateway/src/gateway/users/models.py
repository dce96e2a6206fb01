from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Column, String
from sqlmodel import Field

from gateway.db import Base, UnitScopeColumn
from kit.db import UtcDateTime, utc_now


class User(Base, table=True):
    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "user_account"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(sa_type=String(32))  # a kit.auth.Role value
    unit_scope: list[str] | None = Field(default=None, sa_column=Column(UnitScopeColumn))
    active: bool = True
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
