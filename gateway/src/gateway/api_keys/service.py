"""API keys: created and revoked by an admin, looked up on every request that presents one."""

import time
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import or_, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.access import announce
from gateway.api_keys.exceptions import ApiKeyNotFound
from gateway.api_keys.models import ApiKey
from gateway.api_keys.schemas import ApiKeyCreate
from gateway.credentials import digest, new_secret
from gateway.scopes import checked_scope
from gateway.units import UnitDirectory
from kit.contracts import AccessChange
from kit.db import utc_now

SECRET_PREFIX = "pvk_"
SHOWN_PREFIX_LENGTH = 12
# Recording every use would make each request a write; once a minute says enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def subject_of(key: ApiKey) -> str:
    return f"api-key:{key.id}"


async def create(
    session: AsyncSession, key_in: ApiKeyCreate, *, created_by: str, units: UnitDirectory
) -> tuple[ApiKey, str]:
    """The new key and its secret (shown to the caller once, never stored); its units must be
    in force today at its role's level, as a user's."""
    scope = checked_scope(key_in.role, key_in.units, ["body", "units"])
    await units.check(key_in.role, key_in.units, ["body", "units"])
    secret = new_secret(SECRET_PREFIX)
    key = ApiKey(
        name=key_in.name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        secret_digest=digest(secret),
        role=key_in.role.value,
        unit_scope=list(scope) if scope is not None else None,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    return key, secret


async def get(session: AsyncSession, key_id: UUID) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise ApiKeyNotFound()
    return key


async def list_keys(
    session: AsyncSession, *, offset: int, limit: int, include_revoked: bool
) -> tuple[Sequence[ApiKey], int]:
    query = select(ApiKey)
    if not include_revoked:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    ordered = query.order_by(col(ApiKey.created_at), col(ApiKey.id)).offset(offset).limit(limit)
    return (await session.exec(ordered)).all(), total


async def revoke(session: AsyncSession, key: ApiKey) -> ApiKey:
    """Revoke `key`; the tokens already minted from it are refused too (`gateway.access`)."""
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        session.add(key)
        await session.flush()
        await announce(session, subject_of(key), AccessChange.api_key_revoked)
    return key


async def find_valid(session: AsyncSession, secret: str) -> ApiKey | None:
    """The unrevoked key with this secret, or None."""
    statement = select(ApiKey).where(
        ApiKey.secret_digest == digest(secret), col(ApiKey.revoked_at).is_(None)
    )
    return (await session.exec(statement)).one_or_none()


class UseRecorder:
    """Records a key's last use at most once per `LAST_USED_RESOLUTION` (per process, and per
    database too: the update only touches a row whose stored time is older)."""

    def __init__(self) -> None:
        self._recorded: dict[UUID, float] = {}

    def due(self, key: ApiKey) -> bool:
        recorded = self._recorded.get(key.id)
        return recorded is None or time.monotonic() - recorded >= LAST_USED_RESOLUTION.seconds

    async def record(self, session: AsyncSession, key: ApiKey) -> None:
        now = utc_now()
        await session.exec(
            update(ApiKey)
            .where(
                col(ApiKey.id) == key.id,
                or_(
                    col(ApiKey.last_used_at).is_(None),
                    col(ApiKey.last_used_at) <= now - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=now)
        )
        self._recorded[key.id] = time.monotonic()
