"""What every service app shares: lifespan (database, bus), health, metrics, errors, request ids.

A service's `main.create_app` is a few lines on top of `create_service_app`, so all three services
have the same shape and the same operational endpoints.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import KeySource, Permission, RemoteKeys, TokenVerifier, requires
from kit.auth.revocations import NotBeforeList, not_before_consumer
from kit.cache import ReferenceCache
from kit.db import make_engine, make_sessionmaker
from kit.errors import (
    PROBLEM_RESPONSES,
    ServiceUnavailable,
    document_unreadable_bodies,
    install_error_handlers,
    problem_responses,
)
from kit.fields import RequestBody
from kit.idempotency import IdempotencyMiddleware
from kit.logging import RequestIdMiddleware, configure_logging
from kit.messaging import DeadLetter, InProcessBus, MessageBus, QueueSpec, RabbitMQBus
from kit.messaging.topology import identity_queue
from kit.metrics import HttpMetricsMiddleware
from kit.openapi import document_callers, operation_id
from kit.ops import track_bus
from kit.settings import ServiceSettings


class State(TypedDict):
    settings: ServiceSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: MessageBus
    token_verifier: TokenVerifier


def make_bus(settings: ServiceSettings) -> MessageBus:
    if settings.MESSAGE_BUS == "rabbitmq":
        bus = RabbitMQBus(
            settings.RABBITMQ_URL,
            publish_timeout=settings.PUBLISH_TIMEOUT_SECONDS,
            prefetch=settings.CONSUMER_PREFETCH,
        )
        track_bus(bus)  # the process is ready only while it is connected (kit.ops)
        return bus
    # One in-process bus must be shared by every app of the process: the embedded runner passes it.
    return InProcessBus()


def create_service_app(
    *,
    title: str,
    description: str,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    bus: MessageBus | None = None,
    engine: AsyncEngine | None = None,
    dead_letter_queue: QueueSpec | None = None,
    token_keys: KeySource | None = None,
    token_not_before: Table,
    idempotency_keys: Table | None = None,
) -> FastAPI:
    """A service app; `bus`, `engine` and `token_keys` are shared when given (embedded, tests).

    Without `token_keys` the app verifies tokens against the gateway's published JWKS. The app
    consumes the service's identity queue into `token_not_before` and refuses the tokens it
    lists (`kit.auth.revocations`). With `idempotency_keys`, its creating POSTs take an
    `Idempotency-Key` (`kit.idempotency`).
    """
    configure_logging(settings)
    owns_bus, owns_engine = bus is None, engine is None
    the_bus = bus if bus is not None else make_bus(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        the_engine = engine if engine is not None else make_engine(settings.DATABASE_URL)
        keys = token_keys or RemoteKeys(
            settings.AUTH_JWKS_URL, cache_seconds=settings.AUTH_JWKS_CACHE_SECONDS
        )
        # A cache of reference data per app: a restart starts with an empty one.
        sessionmaker = make_sessionmaker(the_engine, references=ReferenceCache())
        not_before = NotBeforeList(
            sessionmaker, token_not_before, poll_seconds=settings.AUTH_NOT_BEFORE_POLL_SECONDS
        )
        if owns_bus:
            await the_bus.start()
        await the_bus.consume(
            identity_queue(settings.SERVICE_NAME),
            not_before_consumer(sessionmaker, token_not_before),
        )
        reloading = asyncio.create_task(not_before.run())
        try:
            yield {
                "settings": settings,
                "sessionmaker": sessionmaker,
                "bus": the_bus,
                "token_verifier": TokenVerifier(
                    keys,
                    issuer=settings.AUTH_ISSUER,
                    audience=settings.AUTH_AUDIENCE,
                    not_before=not_before,
                ),
            }
        finally:
            not_before.stop()
            await reloading
            if owns_bus:
                await the_bus.close()
            if owns_engine:
                await the_engine.dispose()
            if token_keys is None:
                await keys.aclose()

    app = FastAPI(
        title=title,
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    if idempotency_keys is not None:
        app.add_middleware(IdempotencyMiddleware, table=idempotency_keys)
    app.add_middleware(RequestIdMiddleware)
    # Outside the request id: its own failures are counted too.
    app.add_middleware(HttpMetricsMiddleware, service=settings.SERVICE_NAME, root=app)
    install_error_handlers(app)
    app.include_router(operations_router())
    if dead_letter_queue is not None:
        app.include_router(dead_letter_router(settings.SERVICE_NAME, dead_letter_queue))
    for router in routers:
        # Each route names the permission it needs (`kit.auth.requires`), which verifies the token.
        app.include_router(router)
    document_unreadable_bodies(app)
    document_callers(app, idempotent=idempotency_keys is not None)
    return app


class Readiness(BaseModel):
    status: str = Field(description="`ok` when every check passes, else `unavailable`.")
    checks: dict[str, str] = Field(
        description="Each dependency (`database`, `broker`) and its state."
    )


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/health/ready", response_model=Readiness, responses={503: {"model": Readiness}})
    async def ready(request: Request) -> Any:
        """The database answers and the broker is connected."""
        checks = {"database": "ok", "broker": "ok"}
        try:
            async with request.state.sessionmaker() as session:
                await session.exec(text("SELECT 1"))
        except Exception as error:
            checks["database"] = f"unavailable: {type(error).__name__}"
        if not await request.state.bus.is_healthy():
            checks["broker"] = "unavailable"
        ok = all(value == "ok" for value in checks.values())
        body = Readiness(status="ok" if ok else "unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class DeadLetterRead(BaseModel):
    queue: str = Field(description="The queue the message was dead-lettered from.")
    message_id: str | None = Field(description="The message's id (the event's `id`).")
    type: str | None = Field(description="The event type (routing key).")
    correlation_id: str | None = Field(
        description="The correlation id that ties it to the request that caused it."
    )
    reason: str = Field(description="Why it was dead-lettered (`rejected`, `delivery_limit`, …).")
    body: str = Field(description="The message body as received, JSON text.")


class ReplayRequest(RequestBody):
    message_ids: list[str] | None = Field(
        default=None,
        description="The dead letters to put back; null or absent: every one of the queue.",
    )


class ReplayResult(BaseModel):
    replayed: int = Field(description="Messages put back into the queue.")


def dead_letter_router(service: str, queue: QueueSpec) -> APIRouter:
    router = APIRouter(
        prefix=f"/api/v1/admin/{service}",
        tags=["admin"],
        responses=PROBLEM_RESPONSES | problem_responses(503),
        dependencies=[requires(Permission.OPERATIONS_MANAGE)],
    )

    # Every service has these routes: the service's name keeps their ids apart in the merged
    # document (`listIndicatorsDeadLetters`).
    noun = service.capitalize()

    @router.get(
        "/dead-letters",
        response_model=list[DeadLetterRead],
        operation_id=f"list{noun}DeadLetters",
    )
    async def list_dead_letters(
        request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[DeadLetter]:
        """Messages this service could not handle, oldest first."""
        try:
            return await request.state.bus.dead_letters(queue, limit=limit)  # type: ignore[no-any-return]
        except Exception as error:
            raise ServiceUnavailable(f"The broker could not be read: {error!r}") from error

    @router.post(
        "/dead-letters/replay",
        response_model=ReplayResult,
        operation_id=f"replay{noun}DeadLetters",
    )
    async def replay_dead_letters(request: Request, replay: ReplayRequest) -> ReplayResult:
        """Put dead letters (all, or the named ones) back into this service's queue."""
        try:
            count = await request.state.bus.replay_dead_letters(
                queue, message_ids=replay.message_ids
            )
        except Exception as error:
            raise ServiceUnavailable(f"The broker could not be read: {error!r}") from error
        return ReplayResult(replayed=count)

    return router
