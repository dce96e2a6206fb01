"""Users: created by an admin (or the first one from configuration), changed, never deleted.

A deactivated user keeps its row (audit logs name it) but can neither log in nor refresh, and
every refresh token it holds is revoked, as it is when its password, role or scope changes.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.access import announce
from gateway.auth.models import RefreshToken
from gateway.passwords import PasswordPolicy, hash_password
from gateway.scopes import checked_scope
from gateway.units import UnitDirectory
from gateway.users.exceptions import UsernameTaken, UserNotFound
from gateway.users.models import User
from gateway.users.schemas import UserCreate, UserUpdate
from kit.auth import Role
from kit.contracts import AccessChange
from kit.db import utc_now
from kit.errors import Conflict, InvalidInput


def user_subject(username: str) -> str:
    """The `sub` of a user's access tokens."""
    return f"user:{username}"


async def create(
    session: AsyncSession,
    user_in: UserCreate,
    *,
    passwords: PasswordPolicy | None,
    units: UnitDirectory | None,
) -> User:
    """A new user. `passwords` and `units` check the password and that each unit exists at the
    role's level; None leaves that check out (the users command works with no service up, and
    the demo users of the embedded run have short, documented passwords)."""
    scope = checked_scope(user_in.role, user_in.units, ["body", "units"])
    password = user_in.password.get_secret_value()
    if passwords is not None:
        _check_password(passwords, password, user_in.username)
    if units is not None:
        await units.check(user_in.role, user_in.units, ["body", "units"])
    if await get_by_username(session, user_in.username) is not None:
        raise UsernameTaken(user_in.username)
    user = User(
        username=user_in.username,
        password_hash=await hash_password(password),
        role=user_in.role.value,
        unit_scope=list(scope) if scope is not None else None,
    )
    session.add(user)
    await session.flush()
    return user


async def get(session: AsyncSession, user_id: UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


async def get_by_username(session: AsyncSession, username: str) -> User | None:
    statement = select(User).where(User.username == username)
    return (await session.exec(statement)).one_or_none()


async def list_users(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[Sequence[User], int]:
    total = (await session.exec(select(func.count()).select_from(User))).one()
    statement = select(User).order_by(col(User.username)).offset(offset).limit(limit)
    return (await session.exec(statement)).all(), total


async def change(
    session: AsyncSession,
    user: User,
    changes: UserUpdate,
    *,
    passwords: PasswordPolicy,
    units: UnitDirectory,
) -> User:
    """Apply the fields given in `changes`; the role and scope are checked together."""
    given = changes.model_fields_set
    role = changes.role if "role" in given and changes.role is not None else Role(user.role)
    new_units = changes.units if "units" in given else user.unit_scope
    units_loc: list[str | int] = ["body", "units" if "units" in given else "role"]
    scope = checked_scope(role, new_units, units_loc)
    if "password" in given and changes.password is not None:
        _check_password(passwords, changes.password.get_secret_value(), user.username)
    if "units" in given or role != user.role:
        await units.check(role, new_units, units_loc)
    active = changes.active if "active" in given and changes.active is not None else user.active
    if user.role == Role.ADMIN and user.active and (role != Role.ADMIN or not active):
        await _keep_an_admin(session, user)
    new_scope = list(scope) if scope is not None else None
    password_changed = "password" in given and changes.password is not None
    # What its tokens must stop carrying, most serious first; none for a reactivation alone
    # (the tokens from before the deactivation stay refused).
    reason = next(
        (
            change
            for change, happened in (
                (AccessChange.deactivated, user.active and not active),
                (AccessChange.password_changed, password_changed),
                (AccessChange.role_changed, role != user.role),
                (AccessChange.units_changed, new_scope != user.unit_scope),
            )
            if happened
        ),
        None,
    )
    access_changed = reason is not None or active != user.active
    user.role = role.value
    user.unit_scope = new_scope
    user.active = active
    if password_changed and changes.password is not None:
        user.password_hash = await hash_password(changes.password.get_secret_value())
    session.add(user)
    if access_changed:
        # Outstanding refresh tokens carry the old role and scope into new access tokens.
        await revoke_refresh_tokens(session, user.id)
    if reason is not None:
        await announce(session, user_subject(user.username), reason)
    await session.flush()
    return user


def _check_password(policy: PasswordPolicy, password: str, username: str) -> None:
    problem = policy.problem(password, username=username)
    if problem is not None:
        raise InvalidInput.field(["body", "password"], problem)


async def _keep_an_admin(session: AsyncSession, leaving: User) -> None:
    others = select(func.count()).where(
        User.role == Role.ADMIN.value, col(User.active).is_(True), User.id != leaving.id
    )
    if not (await session.exec(others)).one():
        raise Conflict("This is the last active admin: make another admin first.")


async def revoke_refresh_tokens(session: AsyncSession, user_id: UUID) -> None:
    await session.exec(
        update(RefreshToken)
        .where(col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utc_now())
    )


async def ensure_admin(session: AsyncSession, username: str, password: str) -> User | None:
    """Make `username` an active admin with `password` unless an active admin exists.

    What `python -m gateway.migrate` does with FIRST_ADMIN_*: the first start gets an admin, and
    an installation that lost every admin gets one back; otherwise nothing changes.
    """
    active_admins = select(func.count()).where(
        User.role == Role.ADMIN.value, col(User.active).is_(True)
    )
    if (await session.exec(active_admins)).one():
        return None
    user = await get_by_username(session, username)
    if user is None:
        user = User(username=username, password_hash="", role=Role.ADMIN.value)
    user.password_hash = await hash_password(password)
    user.role = Role.ADMIN.value
    user.unit_scope = None
    user.active = True
    session.add(user)
    await session.flush()
    await revoke_refresh_tokens(session, user.id)
    await announce(session, user_subject(user.username), AccessChange.password_changed)
    return user
