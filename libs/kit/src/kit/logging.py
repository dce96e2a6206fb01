"""Structured logging (structlog) with a request id that follows a request across services."""

import logging
import re
import sys
from uuid import uuid4

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.settings import AppSettings

REQUEST_ID_HEADER = "x-request-id"


# Libraries whose loggers go through the same handler; their INFO is noise at the platform's
# INFO (every pooled connection, every AMQP frame), so they log from WARNING unless DEBUG is asked.
CHATTY_LIBRARIES = ("sqlalchemy", "asyncpg", "aio_pika", "aiormq", "httpx", "httpcore")
# Libraries whose DEBUG lines carry the data itself (aiosqlite logs every statement with its
# parameters: households' names and ID numbers): never below WARNING, whatever LOG_LEVEL says.
DATA_LOGGING_LIBRARIES = ("aiosqlite",)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
_HANDLER_MARK = "kit_logging"


def configure_logging(settings: AppSettings) -> None:
    """One configuration for every log line of the process, structlog's and the standard
    library's (uvicorn, SQLAlchemy, asyncpg, aio-pika, aiormq): JSON lines in deployment,
    readable console lines locally; both carry the bound context (the request id)."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.LOG_JSON
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    level = logging.getLevelNamesMapping()[settings.LOG_LEVEL.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(renderer, level)


def _route_standard_logging(renderer: structlog.typing.Processor, level: int) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        pass_foreign_args=True,
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,  # the request id, where there is one
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _access_fields,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    # Ours replaced (configured again: tests, the embedded run); anybody else's kept (pytest's).
    for previous in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        # Uvicorn configured its own plain-text handlers before it built the app.
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )
    for name in DATA_LOGGING_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    # SQLAlchemy's DEBUG is every fetched row; at INFO its statements, without their parameters
    # (`kit.db.make_engine` hides them).
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if level <= logging.DEBUG else logging.WARNING
    )
    logging.captureWarnings(True)


def _access_fields(
    _: structlog.typing.WrappedLogger, __: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Uvicorn's access lines as fields (client, method, path, status), not only as text."""
    record = event.get("_record")
    args = event.pop("positional_args", None)  # the formatter has taken them off the record
    if record is not None and record.name == "uvicorn.access":
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, http_version, status = args
            event.update(
                client=client, method=method, path=path, http_version=http_version, status=status
            )
    return event


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


def current_actor() -> str | None:
    """The subject of the request's verified token (bound by `kit.auth.current_caller`)."""
    value = structlog.contextvars.get_contextvars().get("actor")
    return str(value) if value is not None else None


_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIdMiddleware:
    """Bind the caller's X-Request-ID (or a fresh one) to every log line and echo it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        # A caller's id is kept only if it is short and plain: it goes into logs, events and the
        # audit log (64 characters), where anything else would be noise or an injection.
        request_id = given if _PLAIN_ID.fullmatch(given) else uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
