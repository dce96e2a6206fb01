"""One logging configuration for the whole process: structlog's lines and the standard library's
(uvicorn, SQLAlchemy, asyncpg, aio-pika, aiormq) all come out as JSON with the request id."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from kit.logging import configure_logging
from kit.settings import AppSettings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # each line is one JSON object, or this fails


def test_every_library_logs_json_through_the_one_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(AppSettings(SERVICE_NAME="test", LOG_JSON=True, LOG_LEVEL="INFO"))
    structlog.get_logger().info("platform.event", answer=42)
    for name in ("uvicorn.error", "sqlalchemy.engine", "asyncpg", "aio_pika", "aiormq"):
        logging.getLogger(name).warning("%s says %s", name, "hello")

    lines = json_lines(capsys.readouterr().err)

    assert [line["event"] for line in lines] == [
        "platform.event",
        "uvicorn.error says hello",
        "sqlalchemy.engine says hello",
        "asyncpg says hello",
        "aio_pika says hello",
        "aiormq says hello",
    ]
    assert lines[0]["answer"] == 42
    assert {line["level"] for line in lines[1:]} == {"warning"}
    assert lines[1]["logger"] == "uvicorn.error"


def test_uvicorns_access_line_carries_the_request_id_and_its_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(AppSettings(SERVICE_NAME="test", LOG_JSON=True, LOG_LEVEL="INFO"))
    access = logging.getLogger("uvicorn.access")
    with structlog.contextvars.bound_contextvars(request_id="req-123"):
        # Uvicorn's own call, as its protocol makes it once a response starts.
        access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.1:5000", "GET", "/api/v1/rounds", "1.1", 200)

    [line] = json_lines(capsys.readouterr().err)

    assert line["request_id"] == "req-123"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/rounds", 200)
    assert line["event"] == '10.0.0.1:5000 - "GET /api/v1/rounds HTTP/1.1" 200'


def test_chatty_libraries_keep_their_info_lines_to_themselves_unless_debug_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(AppSettings(SERVICE_NAME="test", LOG_JSON=True, LOG_LEVEL="INFO"))
    logging.getLogger("aiormq.connection").info("frame received")
    assert capsys.readouterr().err == ""

    configure_logging(AppSettings(SERVICE_NAME="test", LOG_JSON=True, LOG_LEVEL="DEBUG"))
    logging.getLogger("aiormq.connection").debug("frame received")
    assert json_lines(capsys.readouterr().err)[0]["event"] == "frame received"


def test_not_even_debug_logs_the_data_of_statements_and_rows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(AppSettings(SERVICE_NAME="test", LOG_JSON=True, LOG_LEVEL="DEBUG"))
    logging.getLogger("aiosqlite").debug("execute INSERT ... ('Nguyễn Văn An',)")
    logging.getLogger("sqlalchemy.engine.Engine").debug("Row ('Nguyễn Văn An',)")
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT INTO household ...")

    [line] = json_lines(capsys.readouterr().err)
    assert line["event"] == "INSERT INTO household ..."


def test_configuring_again_keeps_one_handler_of_ours_and_leaves_the_others() -> None:
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    for _ in range(3):
        configure_logging(AppSettings(SERVICE_NAME="test"))
    handlers = logging.getLogger().handlers
    assert foreign in handlers
    assert sum(isinstance(h.formatter, structlog.stdlib.ProcessorFormatter) for h in handlers) == 1


def test_an_exception_is_logged_as_json_with_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(AppSettings(SERVICE_NAME="test", LOG_JSON=True))
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    [line] = json_lines(capsys.readouterr().err)
    assert "ValueError: broken" in line["exception"]
