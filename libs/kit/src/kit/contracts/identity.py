"""Events published by the gateway about identities: whose tokens must stop working."""

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from kit.contracts.base import Event


class AccessChange(StrEnum):
    deactivated = "deactivated"
    role_changed = "role_changed"
    units_changed = "units_changed"
    password_changed = "password_changed"
    api_key_revoked = "api_key_revoked"


class AccessChangedV1(Event):
    """Published by the gateway when it deactivates a user, changes a user's role, units or
    password, or revokes an API key: every access token of `token_subject` issued before
    `not_before` must be refused from then on."""

    TYPE: ClassVar[str] = "identity.access.changed.v1"

    token_subject: str = Field(
        description="The `sub` of the tokens concerned: `user:<username>` or `api-key:<id>`.",
        examples=["user:lan.nguyen"],
    )
    reason: AccessChange
    not_before: AwareDatetime = Field(
        description="The change's time: tokens issued (`iat`) before it are refused."
    )
