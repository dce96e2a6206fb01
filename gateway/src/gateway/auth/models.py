from datetime import datetime
from uuid import UUID, uuid4

from sqlmodel import Field

from gateway.db import Base
from kit.db import UtcDateTime, utc_now


class RefreshToken(Base, table=True):
    """One refresh token, stored as its digest. A login starts a family; each refresh spends the
    presented token (`rotated_at`) and adds its successor to the family. A spent token presented
    again means it was copied: the whole family is revoked."""

    __tablename__ = "refresh_token"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    family_id: UUID = Field(index=True)
    user_id: UUID = Field(foreign_key="user_account.id", index=True)
    token_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
