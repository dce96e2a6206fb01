"""The documents integrators and operators read say what the code does."""

import json
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

import gateway.config
import households.config
import indicators.config
import notifications.config
from kit.auth import PERMISSIONS, Permission, Role
from kit.contracts import PUBLISHED, catalogue

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_event_catalogue_is_generated_from_the_contracts() -> None:
    published = json.loads((DOCS / "events.schema.json").read_text(encoding="utf-8"))

    assert published == catalogue(), "regenerate: python -m kit.contracts > docs/events.schema.json"


def test_every_event_type_is_described() -> None:
    text = (DOCS / "events.md").read_text(encoding="utf-8")

    for event in PUBLISHED:
        assert f"`{event.TYPE}`" in text


@pytest.mark.parametrize(
    "settings",
    [
        households.config.Settings,
        indicators.config.Settings,
        notifications.config.Settings,
        gateway.config.Settings,
    ],
    ids=["households", "indicators", "notifications", "gateway"],
)
def test_every_setting_is_documented(settings: type[BaseSettings]) -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (DOCS / "configuration.md").read_text()))
    undocumented = set(settings.model_fields) - documented

    assert not undocumented


def test_the_access_document_shows_the_permissions_table() -> None:
    text = (DOCS / "access.md").read_text(encoding="utf-8")
    roles = list(Role)

    assert "| permission | " + " | ".join(role.value for role in roles) + " |" in text
    for permission in Permission:
        marks = " | ".join("✓" if permission in PERMISSIONS[role] else "" for role in roles)
        assert f"| `{permission.value}` | {marks} |" in text, permission
