from datetime import datetime
from typing import Annotated, TypeAlias
from uuid import UUID

from pydantic import BaseModel, Field

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
from kit.fields import RequestBody, Text


class _NewApiKey(RequestBody):
    name: Annotated[Text, Field(min_length=1, max_length=100, examples=["MOLISA statistics"])]


class NewCountryWideApiKey(_NewApiKey):
    """A key of a role that may cover the whole country."""

    role: NationalRole
    units: UnitScope


class NewScopedApiKey(_NewApiKey):
    """A key of a role that always works in named units."""

    role: ScopedRole
    units: Units


# The role decides whether `units` may be null.
ApiKeyCreate: TypeAlias = Annotated[
    Annotated[NewCountryWideApiKey, COUNTRY_WIDE] | Annotated[NewScopedApiKey, SCOPED],
    SCOPE_BY_ROLE,
]


class ApiKeyRead(BaseModel):
    id: UUID
    name: str
    prefix: str = Field(description="The secret's first characters, to tell keys apart.")
    role: Role
    units: list[str] | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Recorded at most about once a minute per key."
    )


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(
        description="Send it as the `X-API-Key` header. Shown this once: it is stored hashed."
    )


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]
    total: int
