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
    name: Annotated[Text, Field(min_length=1, max_length=100, examples=["MOLISA statistics"])] = (
        Field(description="What the key is for, e.g. the integrating system's name.")
    )


class NewCountryWideApiKey(_NewApiKey):
    """A key of a role that may cover the whole country."""

    role: NationalRole = Field(description="A role that may see the whole country.")
    units: UnitScope


class NewScopedApiKey(_NewApiKey):
    """A key of a role that always works in named units."""

    role: ScopedRole = Field(description="A role limited to units.")
    units: Units


# The role decides whether `units` may be null.
ApiKeyCreate: TypeAlias = Annotated[
    Annotated[NewCountryWideApiKey, COUNTRY_WIDE] | Annotated[NewScopedApiKey, SCOPED],
    SCOPE_BY_ROLE,
]


class ApiKeyRead(BaseModel):
    id: UUID = Field(description="The key's id; the secret is shown only once, when created.")
    name: str = Field(description="What the key is for, e.g. the integrating system's name.")
    prefix: str = Field(description="The secret's first characters, to tell keys apart.")
    role: Role = Field(description="The role its calls act with.")
    units: list[str] | None = Field(
        description="The unit codes whose subtrees it may see; null: the whole country."
    )
    created_by: str = Field(description="The admin who created it (`user:<username>`).")
    created_at: datetime = Field(description="When it was created (UTC).")
    revoked_at: datetime | None = Field(description="When it was revoked (UTC); null while usable.")
    last_used_at: datetime | None = Field(
        description="Recorded at most about once a minute per key."
    )


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(
        description="Send it as the `X-API-Key` header. Shown this once: it is stored hashed."
    )


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead] = Field(description="This page's API keys, in the list's stable order.")
    total: int = Field(description="How many API keys match, over all pages.")
