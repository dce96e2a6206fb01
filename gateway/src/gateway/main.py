"""The gateway app: the platform's one public entry.

Run with `uvicorn gateway.main:create_app --factory --port 8000`.
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from gateway import docs, ops, proxy
from gateway.api_keys.router import router as api_keys_router
from gateway.api_keys.service import UseRecorder
from gateway.auth.issuer import TokenIssuer, load_signing_key
from gateway.auth.router import router as auth_router
from gateway.config import Settings
from gateway.db import idempotency_keys, outbox, token_not_before
from gateway.identity import API_KEY_HEADER, CallerMiddleware
from gateway.metrics import Metrics
from gateway.openapi import TITLE, CachedDocument
from gateway.passwords import PasswordPolicy
from gateway.protection.body_limit import BodyLimitMiddleware
from gateway.protection.headers import SecurityHeadersMiddleware
from gateway.protection.login import LoginThrottle
from gateway.protection.ratelimit import TokenBuckets
from gateway.routes import IMPORTS_PREFIX, UPSTREAMS, upstream_for
from gateway.state import LoginLimits, State
from gateway.units import UnitDirectory
from gateway.users.router import router as users_router
from kit.auth import SigningKey, StaticKeys, TokenVerifier
from kit.auth.revocations import NotBeforeList
from kit.db import make_engine, make_sessionmaker
from kit.errors import document_unreadable_bodies, install_error_handlers
from kit.idempotency import IdempotencyMiddleware
from kit.logging import REQUEST_ID_HEADER, RequestIdMiddleware, configure_logging
from kit.messaging import InProcessBus, MessageBus, OutboxRelay, RabbitMQBus
from kit.metrics import PROCESS_SAMPLER, HttpMetricsMiddleware, outbox_sampler
from kit.openapi import document_callers, operation_id
from kit.ops import serving, track_bus

API_KEYS_PATH = "/api/v1/admin/api-keys"


async def _stopped(work: OutboxRelay | NotBeforeList, task: "asyncio.Task[None]") -> None:
    work.stop()
    await task


def _client(
    url: str, settings: Settings, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        settings.UPSTREAM_READ_TIMEOUT_SECONDS,
        connect=settings.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
        # Waiting for a free pooled connection is a sign of overload: fail as fast as connecting.
        pool=settings.UPSTREAM_CONNECT_TIMEOUT_SECONDS,
    )
    # No proxies from the environment: services are reached directly.
    client = httpx.AsyncClient(base_url=url, timeout=timeout, transport=transport, trust_env=False)
    # A proxy forwards the caller's headers, not httpx's defaults (an Accept-Encoding the caller
    # never sent would hand it a compressed body it did not ask for).
    client.headers.clear()
    return client


def _bus(settings: Settings) -> MessageBus:
    if settings.MESSAGE_BUS == "rabbitmq":
        bus = RabbitMQBus(settings.RABBITMQ_URL, publish_timeout=settings.PUBLISH_TIMEOUT_SECONDS)
        track_bus(bus)  # part of the operations listener's readiness
        return bus
    return InProcessBus()


def create_app(
    settings: Settings | None = None,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    engine: AsyncEngine | None = None,
    signing_key: SigningKey | None = None,
    bus: MessageBus | None = None,
) -> FastAPI:
    """Build the gateway; `transports` replaces the network for the named upstreams.

    `engine` (the identity database), `signing_key` and `bus` are shared when given (embedded
    run, tests); otherwise they come from DATABASE_URL, SIGNING_KEY_FILE and MESSAGE_BUS.
    """
    settings = settings or Settings()
    transports = transports or {}
    unknown = set(transports) - set(UPSTREAMS)
    if unknown:
        raise ValueError(f"No such upstream: {', '.join(sorted(unknown))}.")
    configure_logging(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        key = signing_key or load_signing_key(settings.SIGNING_KEY_FILE)
        async with AsyncExitStack() as stack:
            upstreams = {
                name: await stack.enter_async_context(_client(url, settings, transports.get(name)))
                for name, url in settings.upstream_urls().items()
            }
            the_engine = engine if engine is not None else make_engine(settings.DATABASE_URL)
            if engine is None:
                stack.push_async_callback(the_engine.dispose)
            sessionmaker = make_sessionmaker(the_engine)
            issuer = TokenIssuer(key, settings)
            the_bus = bus if bus is not None else _bus(settings)
            if bus is None:
                await the_bus.start()
                stack.push_async_callback(the_bus.close)
            relay = OutboxRelay(
                sessionmaker,
                outbox,
                the_bus,
                service=settings.SERVICE_NAME,
                batch_size=settings.RELAY_BATCH_SIZE,
                poll_seconds=settings.RELAY_POLL_SECONDS,
            )
            not_before = NotBeforeList(
                sessionmaker, token_not_before, poll_seconds=settings.AUTH_NOT_BEFORE_POLL_SECONDS
            )
            for work in (relay, not_before):
                # Stopped, not cancelled: a query cut short would outlive the engine.
                stack.push_async_callback(_stopped, work, asyncio.create_task(work.run()))
            if settings.METRICS_PORT is not None:
                # Metrics and health on a port of their own, never the public one.
                PROCESS_SAMPLER.interval = settings.METRICS_SAMPLE_SECONDS
                PROCESS_SAMPLER.add(
                    f"outbox:{settings.SERVICE_NAME}",
                    outbox_sampler(sessionmaker, outbox, settings.SERVICE_NAME),
                )
                await stack.enter_async_context(
                    serving(
                        settings.METRICS_PORT,
                        host=settings.METRICS_HOST,
                        registries=[metrics.registry],
                    )
                )
            per_second = settings.LOGIN_ATTEMPTS_PER_MINUTE / 60
            burst = settings.LOGIN_ATTEMPTS_BURST
            yield {
                "settings": settings,
                "upstreams": upstreams,
                "metrics": metrics,
                "openapi": CachedDocument(settings.OPENAPI_CACHE_SECONDS),
                "sessionmaker": sessionmaker,
                "issuer": issuer,
                "token_verifier": TokenVerifier(
                    StaticKeys(key.jwks()),
                    issuer=settings.AUTH_ISSUER,
                    audience=settings.AUTH_AUDIENCE,
                    not_before=not_before,
                ),
                "rate_limit": TokenBuckets(
                    settings.RATE_LIMIT_PER_SECOND, settings.RATE_LIMIT_BURST
                ),
                "login_limits": LoginLimits(
                    failures=LoginThrottle(
                        free_failures=settings.LOGIN_FREE_FAILURES,
                        first_delay=settings.LOGIN_FIRST_DELAY_SECONDS,
                        max_delay=settings.LOGIN_MAX_DELAY_SECONDS,
                    ),
                    by_address=TokenBuckets(per_second, burst),
                ),
                "api_key_uses": UseRecorder(),
                "units": UnitDirectory(upstreams["households"], issuer),
                "passwords": PasswordPolicy(settings.PASSWORD_MIN_LENGTH),
            }

    # FastAPI's own docs routes would collide with the merged ones served by `docs.router`;
    # trailing slashes are the services' business, so the gateway never redirects to add one.
    app = FastAPI(
        title=TITLE,
        version=settings.API_VERSION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        generate_unique_id_function=operation_id,
    )
    # Added innermost first: a request meets the trusted proxies' headers, the security headers,
    # CORS, the body limit, the metrics, the request id, then the caller's identity and rate limit.
    app.add_middleware(CallerMiddleware)
    # Its own creating POSTs (users); the services keep the keys of what it forwards. Not a new
    # API key: its answer holds the secret, which the gateway keeps only hashed, and a replay
    # would have to keep it.
    app.add_middleware(
        IdempotencyMiddleware,
        table=idempotency_keys,
        owns=lambda path: upstream_for(path) is None and path != API_KEYS_PATH,
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(HttpMetricsMiddleware, service=settings.SERVICE_NAME, root=app)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.MAX_BODY_BYTES,
        by_prefix={IMPORTS_PREFIX: settings.MAX_IMPORT_BODY_BYTES},
    )
    if settings.CORS_ALLOW_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.CORS_ALLOW_ORIGINS,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "Idempotency-Key",
                API_KEY_HEADER,
                REQUEST_ID_HEADER,
            ],
            expose_headers=[
                "ETag",
                "Location",
                "Retry-After",
                "Deprecation",
                "Sunset",
                "Link",
                REQUEST_ID_HEADER,
            ],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost, so that everything after it sees the client, not the proxy. Uvicorn's own copy
    # of it, which trusts 127.0.0.1 whatever the settings say, is off (`--no-proxy-headers`).
    app.add_middleware(
        ProxyHeadersMiddleware,
        trusted_hosts=[str(network) for network in settings.TRUSTED_PROXIES],
    )
    install_error_handlers(app)
    app.include_router(ops.router)
    app.include_router(docs.router)
    app.mount(docs.ASSETS_URL, docs.assets, name="docs-assets")
    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(api_keys_router)
    # Last: its catch-all path must not shadow the gateway's own routes.
    app.include_router(proxy.router)
    document_unreadable_bodies(app)
    document_callers(app, idempotent=True, not_idempotent={API_KEYS_PATH})
    return app
