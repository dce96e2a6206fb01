"""The FastAPI side: the verified caller of a request, and the permission a route needs.

Every business route of every service takes its caller from `requires(permission)`, so no route
answers without a valid token; which objects the caller then sees is its unit scope's business,
applied in each service's queries.
"""

from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kit.auth.roles import Caller, Permission
from kit.auth.tokens import InvalidToken, KeysUnavailable, TokenVerifier
from kit.errors import Forbidden, ServiceUnavailable, Unauthorized

bearer = HTTPBearer(
    auto_error=False,
    description="An access token from the gateway's `POST /api/v1/auth/token`.",
)


async def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The caller named by the request's bearer token; 401 without a valid one."""
    if credentials is None:
        raise Unauthorized(
            "An access token is required (Authorization: Bearer <token>).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.state.token_verifier
    try:
        caller = await verifier.verify(credentials.credentials)
    except InvalidToken as error:
        raise Unauthorized(
            str(error), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from error
    except KeysUnavailable as error:
        raise ServiceUnavailable(
            "Tokens cannot be checked now: the gateway's signing keys are unreachable."
        ) from error
    structlog.contextvars.bind_contextvars(actor=caller.subject)
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def requires(permission: Permission) -> Any:
    """A dependency giving the caller if its role holds `permission`, else answering 403."""

    async def caller_with_permission(caller: CallerDep) -> Caller:
        if not caller.can(permission):
            raise Forbidden(f"The role {caller.role.value} does not allow {permission.value}.")
        return caller

    # Read by `kit.openapi` to say in the document which roles may call the route.
    setattr(caller_with_permission, "permission", permission)  # noqa: B010
    return Depends(caller_with_permission)
