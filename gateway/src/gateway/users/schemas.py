from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, SecretStr

from gateway.scopes import UnitScope
from kit.auth import Role

Username = Annotated[
    str,
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._@-]*$",
        description="Lower-case letters, digits and `.` `_` `@` `-`.",
        examples=["lan.nguyen"],
    ),
]
Password = Annotated[SecretStr, Field(min_length=10, max_length=256)]


class UserCreate(BaseModel):
    username: Username
    password: Password
    role: Role
    units: UnitScope


class UserUpdate(BaseModel):
    """Only what is given changes; `units` may be set to null where the role allows it."""

    role: Role | None = None
    units: UnitScope = None
    active: bool | None = None
    password: Password | None = None


class UserRead(BaseModel):
    id: UUID
    username: str
    role: Role
    units: list[str] | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    items: list[UserRead]
    total: int
