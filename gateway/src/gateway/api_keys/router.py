"""Admin endpoints for API keys: create (the secret is shown once), list, read, revoke."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from gateway.api_keys import service as api_key_service
from gateway.api_keys.models import ApiKey
from gateway.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyRead
from gateway.state import UnitsDep
from kit.auth import Caller, Permission, Role, requires
from kit.db import SessionDep
from kit.errors import problem_responses
from kit.fields import Offset

IdentityManager = Annotated[Caller, requires(Permission.IDENTITY_MANAGE)]

router = APIRouter(
    prefix="/api/v1/admin/api-keys",
    tags=["identity"],
    dependencies=[requires(Permission.IDENTITY_MANAGE)],
    responses=problem_responses(401, 403, 422, 503),
)


def key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=Role(key.role),
        units=key.unit_scope,
        created_by=key.created_by,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    key_in: ApiKeyCreate, session: SessionDep, caller: IdentityManager, units: UnitsDep
) -> ApiKeyCreated:
    """Create an API key; the answer holds its secret, which is never shown again."""
    key, secret = await api_key_service.create(
        session, key_in, created_by=caller.subject, units=units
    )
    return ApiKeyCreated(**key_read(key).model_dump(), secret=secret)


@router.get("", response_model=ApiKeyList)
async def list_api_keys(
    session: SessionDep,
    include_revoked: Annotated[
        bool, Query(description="Also list the keys that were revoked.")
    ] = False,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ApiKeyList:
    """API keys, oldest first; revoked ones only when asked for."""
    keys, total = await api_key_service.list_keys(
        session, offset=offset, limit=limit, include_revoked=include_revoked
    )
    return ApiKeyList(items=[key_read(key) for key in keys], total=total)


@router.get("/{key_id}", response_model=ApiKeyRead, responses=problem_responses(404))
async def get_api_key(key_id: UUID, session: SessionDep) -> ApiKeyRead:
    """One API key (without its secret)."""
    return key_read(await api_key_service.get(session, key_id))


@router.post("/{key_id}/revoke", response_model=ApiKeyRead, responses=problem_responses(404))
async def revoke_api_key(key_id: UUID, session: SessionDep) -> ApiKeyRead:
    """Revoke an API key: refused from the next request on."""
    key = await api_key_service.get(session, key_id)
    return key_read(await api_key_service.revoke(session, key))
