"""Identity and scoped access: roles and permissions, signed tokens, the caller of a request."""

from kit.auth.dependencies import CallerDep, current_caller, requires
from kit.auth.roles import PERMISSIONS, Caller, Permission, Role
from kit.auth.tokens import (
    ALGORITHM,
    InvalidToken,
    KeySource,
    KeysUnavailable,
    NotBeforeSource,
    RemoteKeys,
    SigningKey,
    StaticKeys,
    TokenVerifier,
)

__all__ = [
    "ALGORITHM",
    "PERMISSIONS",
    "Caller",
    "CallerDep",
    "InvalidToken",
    "KeySource",
    "KeysUnavailable",
    "NotBeforeSource",
    "Permission",
    "RemoteKeys",
    "Role",
    "SigningKey",
    "StaticKeys",
    "TokenVerifier",
    "current_caller",
    "requires",
]
