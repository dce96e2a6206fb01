"""What the lifespan hands to every request, and the dependencies that read it."""

from collections.abc import Mapping
from typing import Annotated, TypedDict

import httpx
from fastapi import Depends, Request

from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.openapi import CachedDocument


class State(TypedDict):
    settings: Settings
    upstreams: dict[str, httpx.AsyncClient]
    metrics: Metrics
    openapi: CachedDocument


# Starlette's `request.state` is untyped; these give each endpoint a typed view of one entry.
def _settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def _upstreams(request: Request) -> Mapping[str, httpx.AsyncClient]:
    upstreams: Mapping[str, httpx.AsyncClient] = request.state.upstreams
    return upstreams


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.state.metrics
    return metrics


def _openapi(request: Request) -> CachedDocument:
    openapi: CachedDocument = request.state.openapi
    return openapi


SettingsDep = Annotated[Settings, Depends(_settings)]
UpstreamsDep = Annotated[Mapping[str, httpx.AsyncClient], Depends(_upstreams)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
OpenApiDep = Annotated[CachedDocument, Depends(_openapi)]
