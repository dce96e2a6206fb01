"""The command-line client against a real HTTP server: upload, progress, summary, error report."""

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bulk_upload import cli as bulk_import
from households.config import Settings
from households.imports import service as import_service
from households.imports.limits import Limits
from households.main import create_app
from kit.auth import Role
from kit.testing import bearer, trusted_test_keys


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """The households app served over HTTP from a thread of its own, with its own engine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(settings, token_keys=trusted_test_keys())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    while not served.started and thread.is_alive():
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=10)


async def test_the_client_uploads_follows_and_saves_the_error_report(
    server: str,
    round_id: str,
    files: Any,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "households.jsonl"
    path.write_bytes(files.jsonl(20) + b'{"household": {}, "assessment": {}}\n')
    token = bearer(Role.ADMIN)["Authorization"].removeprefix("Bearer ")
    runner = asyncio.create_task(
        import_service.run_forever(
            sessionmaker,
            directory=Path(settings.IMPORT_DIR),
            batch_size=settings.IMPORT_BATCH_SIZE,
            limits=Limits.of(settings),
            poll_seconds=0.05,
            lease_seconds=60,
        )
    )
    arguments = ["--url", server, "--token", token, "--poll-seconds", "0.05"]
    try:
        status = await asyncio.to_thread(
            bulk_import.main, [*arguments, "upload", str(path), "--round", round_id]
        )
    finally:
        runner.cancel()

    output = capsys.readouterr().out
    assert status == 1, output  # one row failed
    assert "completed" in output
    assert "households imported: 20" in output
    report = tmp_path / "households.jsonl.errors.csv"
    assert f"error report (row, field, message): {report}" in output
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "row,field,message"
    assert all(line.startswith("21,") for line in lines[1:])

    [import_id] = [word for word in output.split() if len(word) == 36 and word.count("-") == 4]
    saved = tmp_path / "again.csv"
    again = await asyncio.to_thread(
        bulk_import.main, [*arguments, "status", import_id, "--errors", str(saved)]
    )
    assert again == 1
    assert saved.read_text(encoding="utf-8-sig").splitlines() == lines


async def test_the_client_says_why_an_upload_is_refused(
    server: str, round_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "households.csv"
    path.write_text("household_code,comune\n", encoding="utf-8")
    token = bearer(Role.ADMIN)["Authorization"].removeprefix("Bearer ")

    status = await asyncio.to_thread(
        bulk_import.main,
        ["--url", server, "--token", token, "upload", str(path), "--round", round_id],
    )

    assert status == 2
    assert "Unknown columns: comune" in capsys.readouterr().err
