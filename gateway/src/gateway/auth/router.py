"""Logging in (OAuth2 password flow), refreshing, logging out, who am I, and the public keys."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from gateway.auth import service as auth_service
from gateway.auth.exceptions import UnsupportedGrant
from gateway.auth.schemas import Me, TokenResponse
from gateway.identity import client_address
from gateway.protection.ratelimit import retry_after
from gateway.state import IssuerDep, LoginLimitsDep, SessionmakerDep, SettingsDep
from gateway.users.schemas import canonical_username
from kit.auth import PERMISSIONS, CallerDep
from kit.errors import InvalidInput, TooManyRequests, problem_responses

JWKS_PATH = "/.well-known/jwks.json"
TOKEN_PATH = "/api/v1/auth/token"

router = APIRouter(tags=["auth"])


@router.post(
    TOKEN_PATH,
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 422, 429),
)
async def issue_token(
    request: Request,
    sessionmaker: SessionmakerDep,
    issuer: IssuerDep,
    settings: SettingsDep,
    limits: LoginLimitsDep,
    # Documented as the two it knows; any other is still refused as OAuth2 says (400).
    grant_type: Annotated[
        str,
        Form(
            examples=["password"],
            json_schema_extra={"enum": ["password", "refresh_token"]},
            description="`password` to log in; `refresh_token` to spend a refresh token for a "
            "new pair.",
        ),
    ],
    username: Annotated[
        str | None, Form(description="With `grant_type=password`: the user's name.")
    ] = None,
    password: Annotated[
        str | None,
        Form(
            json_schema_extra={"format": "password"},
            description="With `grant_type=password`: the user's password.",
        ),
    ] = None,
    refresh_token: Annotated[
        str | None,
        Form(description="With `grant_type=refresh_token`: the last pair's refresh token."),
    ] = None,
    scope: Annotated[str, Form(description="Ignored: the role decides what a token allows.")] = "",
) -> TokenResponse:
    """Log in with a username and password, or spend a refresh token, for a new token pair."""
    address = client_address(request.scope)
    _refuse_for(limits.by_address.take(f"ip:{address}"))
    if grant_type == "password":
        if not username or password is None:
            raise InvalidInput.field(["body", "username"], "username and password are required.")
        username = str(canonical_username(username))  # the spelling it was stored under
        _refuse_for(limits.failures.attempt(username, address))
        async with sessionmaker() as session, session.begin():
            user = await auth_service.authenticate(session, username, password)
            pair = await auth_service.start_session(
                session, issuer, user, refresh_days=settings.REFRESH_TOKEN_DAYS
            )
        limits.failures.succeeded(username, address)
    elif grant_type == "refresh_token":
        if not refresh_token:
            raise InvalidInput.field(["body", "refresh_token"], "refresh_token is required.")
        pair = await auth_service.refresh(
            sessionmaker, issuer, refresh_token, refresh_days=settings.REFRESH_TOKEN_DAYS
        )
    else:
        raise UnsupportedGrant(grant_type)
    return TokenResponse(
        access_token=pair.access_token,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
    )


# 200 with no body (RFC 7009), also for a token that was unknown or revoked already.
@router.post(
    "/api/v1/auth/revoke",
    status_code=200,
    response_class=Response,
    responses=problem_responses(422, 429),
)
async def revoke_token(
    sessionmaker: SessionmakerDep,
    token: Annotated[
        str, Form(min_length=1, description="The refresh token to revoke, with its family.")
    ],
    token_type_hint: Annotated[
        str | None, Form(description="`refresh_token`, if given (RFC 7009); optional.")
    ] = None,
) -> Response:
    """Log out: revoke a refresh token and every token refreshed from the same login."""
    async with sessionmaker() as session, session.begin():
        await auth_service.revoke(session, token)
    return Response(status_code=200)


@router.get("/api/v1/auth/me", response_model=Me, responses=problem_responses(401))
async def get_me(caller: CallerDep) -> Me:
    """The caller the presented token names: subject, role, unit scope and permissions."""
    return Me(
        subject=caller.subject,
        role=caller.role,
        units=list(caller.unit_scope) if caller.unit_scope is not None else None,
        permissions=sorted(PERMISSIONS[caller.role]),
    )


@router.get(JWKS_PATH)
async def get_jwks(issuer: IssuerDep) -> JSONResponse:
    """The public keys that verify access tokens (RFC 7517); services fetch and cache them."""
    body: dict[str, Any] = issuer.key.jwks()
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=60"})


def _refuse_for(wait: float) -> None:
    if wait:
        raise TooManyRequests(
            "Too many login attempts: wait before trying again.",
            headers={"Retry-After": retry_after(wait)},
        )
