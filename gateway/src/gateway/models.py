"""Every table of the gateway, imported so that its metadata is complete (Alembic)."""

from gateway.api_keys.models import ApiKey
from gateway.auth.models import RefreshToken
from gateway.db import Base, outbox, token_not_before
from gateway.users.models import User

metadata = Base.metadata

__all__ = ["ApiKey", "RefreshToken", "User", "metadata", "outbox", "token_not_before"]
