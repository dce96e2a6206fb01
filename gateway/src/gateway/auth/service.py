"""Logging in, refreshing and logging out: access tokens are signed, refresh tokens are rows.

An access token lives at most 15 minutes and cannot be recalled; what can be recalled is the
refresh token that would renew it. Each refresh spends the presented token and hands out its
successor (rotation); a spent token that comes back was copied, so its whole family — every
token descended from the same login — is revoked, the thief's and the owner's alike.
"""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.auth.exceptions import InvalidCredentials, InvalidRefreshToken
from gateway.auth.issuer import TokenIssuer
from gateway.auth.models import RefreshToken
from gateway.credentials import digest, new_secret
from gateway.passwords import hash_password, needs_rehash, verify_password
from gateway.users import service as user_service
from gateway.users.models import User
from gateway.users.service import user_subject
from kit.auth import Role
from kit.db import utc_now

REFRESH_TOKEN_PREFIX = "pvr_"
log = structlog.get_logger()


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str


def access_token_for(issuer: TokenIssuer, user: User) -> str:
    scope = tuple(user.unit_scope) if user.unit_scope is not None else None
    return issuer.issue(subject=user_subject(user.username), role=Role(user.role), unit_scope=scope)


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    """The active user with these credentials; the same refusal for every way of failing."""
    user = await user_service.get_by_username(session, username)
    valid = await verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        log.info("auth.login_refused", username=username)
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = utc_now()
    session.add(user)
    return user


async def start_session(
    session: AsyncSession, issuer: TokenIssuer, user: User, *, refresh_days: int
) -> TokenPair:
    """A new token family for `user`: an access token and the first refresh token."""
    refresh = await _add_refresh_token(session, user.id, uuid4(), refresh_days)
    log.info("auth.logged_in", actor=user_subject(user.username))
    return TokenPair(access_token_for(issuer, user), _seconds(issuer.access_lifetime), refresh)


async def refresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    issuer: TokenIssuer,
    presented: str,
    *,
    refresh_days: int,
) -> TokenPair:
    """Spend `presented` for a new pair; 401 otherwise, after revoking what must be revoked.

    Its own transaction, committed even when refusing: a detected reuse must stay revoked.
    """
    async with sessionmaker() as session, session.begin():
        pair = await _rotate(session, issuer, presented, refresh_days)
    if pair is None:
        raise InvalidRefreshToken()
    return pair


async def _rotate(
    session: AsyncSession, issuer: TokenIssuer, presented: str, refresh_days: int
) -> TokenPair | None:
    statement = select(RefreshToken).where(RefreshToken.token_digest == digest(presented))
    token = (await session.exec(statement)).one_or_none()
    if token is None:
        return None
    if token.rotated_at is not None or token.revoked_at is not None:
        if token.revoked_at is None:
            log.warning("auth.refresh_token_reused", family=str(token.family_id))
        await revoke_family(session, token.family_id)
        return None
    if token.expires_at <= utc_now():
        return None
    user = await session.get(User, token.user_id)
    if user is None or not user.active:
        await revoke_family(session, token.family_id)
        return None
    # Claimed with a condition, so that of two concurrent refreshes with one token only one
    # wins; the loser is a reuse like any other.
    claimed = await session.exec(
        update(RefreshToken)
        .where(
            col(RefreshToken.id) == token.id,
            col(RefreshToken.rotated_at).is_(None),
            col(RefreshToken.revoked_at).is_(None),
        )
        .values(rotated_at=utc_now())
    )
    if claimed.rowcount != 1:
        log.warning("auth.refresh_token_reused", family=str(token.family_id))
        await revoke_family(session, token.family_id)
        return None
    successor = await _add_refresh_token(session, user.id, token.family_id, refresh_days)
    return TokenPair(access_token_for(issuer, user), _seconds(issuer.access_lifetime), successor)


async def revoke(session: AsyncSession, presented: str) -> None:
    """Log out: revoke the token's family. An unknown token is ignored (RFC 7009)."""
    statement = select(RefreshToken).where(RefreshToken.token_digest == digest(presented))
    token = (await session.exec(statement)).one_or_none()
    if token is not None:
        await revoke_family(session, token.family_id)


async def revoke_family(session: AsyncSession, family_id: UUID) -> None:
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utc_now())
    )


async def _add_refresh_token(
    session: AsyncSession, user_id: UUID, family_id: UUID, days: int
) -> str:
    secret = new_secret(REFRESH_TOKEN_PREFIX)
    session.add(
        RefreshToken(
            family_id=family_id,
            user_id=user_id,
            token_digest=digest(secret),
            expires_at=utc_now() + timedelta(days=days),
        )
    )
    await session.flush()
    return secret


def _seconds(lifetime: timedelta) -> int:
    return int(lifetime.total_seconds())
