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

    role: NationalRole = Field(description="A role that may see the whole country.")
    units: UnitScope


class NewScopedUser(_NewUser):
    """A user of a role that always works in named units."""

    role: ScopedRole = Field(description="A role limited to units; `units` says which.")
    units: Units


# The role decides whether `units` may be null.
UserCreate: TypeAlias = Annotated[
    Annotated[NewCountryWideUser, COUNTRY_WIDE] | Annotated[NewScopedUser, SCOPED], SCOPE_BY_ROLE
]
# For code that builds one from plain values (the users command, the embedded demo).
new_user = TypeAdapter[NewCountryWideUser | NewScopedUser](UserCreate)


class UserUpdate(RequestBody):
    """Only what is given changes; `units` may be set to null where the role allows it."""

    role: Role | None = Field(default=None, description="A new role; leave out to keep it.")
    units: UnitScope = None
    active: bool | None = Field(
        default=None,
        description=("false disables the user (its tokens are refused at once); true enables it."),
    )
    password: Password | None = Field(
        default=None,
        description=("A new password, under the same rules as at creation; leave out to keep it."),
    )


class UserRead(BaseModel):
    id: UUID = Field(description="The user's id.")
    username: str = Field(description="The name the user logs in with.")
    role: Role = Field(description="What the user may do.")
    units: list[str] | None = Field(
        description="Unit codes whose subtrees the user may see; null: the whole country."
    )
    active: bool = Field(description="False: the user cannot log in and its tokens are refused.")
    created_at: datetime = Field(description="When the user was created (UTC).")
    last_login_at: datetime | None = Field(
        description="The last successful log-in (UTC); null if never."
    )


class UserList(BaseModel):
    items: list[UserRead] = Field(description="This page's users, in the list's stable order.")
    total: int = Field(description="How many users match, over all pages.")
