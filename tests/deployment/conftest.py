"""Fixtures of the deployment tests; what they read is in support/compose_file.py."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from pydantic_settings import BaseSettings
from support.compose_file import Isolate, Process, settings_class


@pytest.fixture
def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Isolate:
    """Make the environment exactly what the container gives the process; no `.env` is read."""

    def apply(process: Process) -> type[BaseSettings]:
        settings = settings_class(process)
        for key in list(os.environ):
            if key.upper() in settings.model_fields:
                monkeypatch.delenv(key)
        for key, value in process.environment.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        return settings

    return apply


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # Building an app configures structlog for production; later tests keep their own.
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)
