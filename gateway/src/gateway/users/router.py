"""Admin endpoints for users: create, list, read, change (role, units, active, password)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from gateway.state import PasswordsDep, UnitsDep
from gateway.users import service as user_service
from gateway.users.models import User
from gateway.users.schemas import UserCreate, UserList, UserRead, UserUpdate
from kit.auth import Permission, Role, requires
from kit.db import SessionDep
from kit.errors import problem_responses
from kit.fields import Offset

router = APIRouter(
    prefix="/api/v1/admin/users",
    tags=["identity"],
    dependencies=[requires(Permission.IDENTITY_MANAGE)],
    responses=problem_responses(401, 403, 422, 503),
)


def user_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        username=user.username,
        role=Role(user.role),
        units=user.unit_scope,
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=UserRead,
    responses=problem_responses(409),
)  # fmt: skip
async def create_user(
    user_in: UserCreate, session: SessionDep, passwords: PasswordsDep, units: UnitsDep
) -> UserRead:
    """Create a user with a role and a unit scope (units in force today, at the role's level)."""
    return user_read(await user_service.create(session, user_in, passwords=passwords, units=units))


@router.get("", response_model=UserList)
async def list_users(
    session: SessionDep,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UserList:
    """Every user, by username."""
    users, total = await user_service.list_users(session, offset=offset, limit=limit)
    return UserList(items=[user_read(user) for user in users], total=total)


@router.get("/{user_id}", response_model=UserRead, responses=problem_responses(404))
async def get_user(user_id: UUID, session: SessionDep) -> UserRead:
    """One user."""
    return user_read(await user_service.get(session, user_id))


@router.patch("/{user_id}", response_model=UserRead, responses=problem_responses(404, 409))
async def change_user(
    user_id: UUID,
    changes: UserUpdate,
    session: SessionDep,
    passwords: PasswordsDep,
    units: UnitsDep,
) -> UserRead:
    """Change a user's role, units, active flag or password; their refresh tokens are revoked,
    and their access tokens refused from then on, here and in every service."""
    user = await user_service.get(session, user_id)
    return user_read(
        await user_service.change(session, user, changes, passwords=passwords, units=units)
    )
