import unicodedata
from datetime import datetime
from typing import Annotated, TypeAlias
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, TypeAdapter

from gateway.scopes import (
    COUNTRY_WIDE,
    SCOPE_BY_ROLE,
    SCOPED,
    NationalRole,
    ScopedRole,
    Units,
    UnitScope,
)
from kit.auth import Role
from kit.fields import RequestBody


def canonical_username(value: object) -> object:
    """The one spelling of a username: NFKC (full-width letters are the plain ones), trimmed,
    lower case. What is left must match the pattern, so control and invisible characters, and
    letters that only look Latin, are refused rather than kept as a second, look-alike name."""
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip().lower()
    return value


Username = Annotated[
    str,
    BeforeValidator(canonical_username),
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._@-]*$",
        description="Lower-case letters, digits and `.` `_` `@` `-`.",
        examples=["lan.nguyen"],
    ),
]
# The least length is PASSWORD_MIN_LENGTH, checked with the rest of the policy by the service.
Password = Annotated[
    SecretStr,
    Field(
        min_length=8,
        max_length=256,
        description="At least PASSWORD_MIN_LENGTH characters (15 by default); not a common "
        "password, a repetition, a sequence or one containing the username. Any characters, "
        "spaces included: a phrase of unrelated words is a good one.",
    ),
]


class _NewUser(RequestBody):
    username: Username
    password: Password


class NewCountryWideUser(_NewUser):
    """A user of a role that may cover the whole country."""

    role: NationalRole
    units: UnitScope


class NewScopedUser(_NewUser):
    """A user of a role that always works in named units."""

    role: ScopedRole
    units: Units


# The role decides whether `units` may be null.
UserCreate: TypeAlias = Annotated[
    Annotated[NewCountryWideUser, COUNTRY_WIDE] | Annotated[NewScopedUser, SCOPED], SCOPE_BY_ROLE
]
# For code that builds one from plain values (the users command, the embedded demo).
new_user = TypeAdapter[NewCountryWideUser | NewScopedUser](UserCreate)


class UserUpdate(RequestBody):
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
