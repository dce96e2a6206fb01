"""What the lifespan hands to every request, and the dependencies that read it."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, TypedDict

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.api_keys.service import UseRecorder
from gateway.auth.issuer import TokenIssuer
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.openapi import CachedDocument
from gateway.passwords import PasswordPolicy
from gateway.protection.login import LoginThrottle
from gateway.protection.ratelimit import TokenBuckets
from gateway.units import UnitDirectory
from kit.auth import TokenVerifier


@dataclass(frozen=True)
class LoginLimits:
    """The token endpoint's own limits: failures per username and address, tries per address."""

    failures: LoginThrottle
    by_address: TokenBuckets


class State(TypedDict):
    settings: Settings
    upstreams: dict[str, httpx.AsyncClient]
    metrics: Metrics
    openapi: CachedDocument
    sessionmaker: async_sessionmaker[AsyncSession]
    issuer: TokenIssuer
    token_verifier: TokenVerifier  # of the gateway's own key: what `kit.auth` routes read
    rate_limit: TokenBuckets
    login_limits: LoginLimits
    api_key_uses: UseRecorder
    units: UnitDirectory
    passwords: PasswordPolicy


# Starlette's `request.state` is untyped; these give each endpoint a typed view of one entry.
# `async def`: FastAPI runs a plain `def` dependency in the threadpool, a hand-off per request.
async def _settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def _upstreams(request: Request) -> Mapping[str, httpx.AsyncClient]:
    upstreams: Mapping[str, httpx.AsyncClient] = request.state.upstreams
    return upstreams


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.state.metrics
    return metrics


async def _openapi(request: Request) -> CachedDocument:
    openapi: CachedDocument = request.state.openapi
    return openapi


async def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return sessionmaker


async def _issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.state.issuer
    return issuer


async def _units(request: Request) -> UnitDirectory:
    units: UnitDirectory = request.state.units
    return units


async def _passwords(request: Request) -> PasswordPolicy:
    passwords: PasswordPolicy = request.state.passwords
    return passwords


async def _login_limits(request: Request) -> LoginLimits:
    limits: LoginLimits = request.state.login_limits
    return limits


SettingsDep = Annotated[Settings, Depends(_settings)]
UpstreamsDep = Annotated[Mapping[str, httpx.AsyncClient], Depends(_upstreams)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
OpenApiDep = Annotated[CachedDocument, Depends(_openapi)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
IssuerDep = Annotated[TokenIssuer, Depends(_issuer)]
LoginLimitsDep = Annotated[LoginLimits, Depends(_login_limits)]
UnitsDep = Annotated[UnitDirectory, Depends(_units)]
PasswordsDep = Annotated[PasswordPolicy, Depends(_passwords)]
