"""Every dependency a workspace member declares is used by its code: imported, or named where it
is used without an import (a database driver chosen by URL, a package read for its data)."""

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = {
    "kit": ROOT / "libs/kit",
    "households": ROOT / "services/households",
    "indicators": ROOT / "services/indicators",
    "notifications": ROOT / "services/notifications",
    "gateway": ROOT / "gateway",
    "launcher": ROOT / "launcher",
    "synthetic": ROOT / "tools/synthetic",
    "bulk-upload": ROOT / "tools/upload",
}
# Used without being imported by name, and where: the reason each needs no import.
USED_WITHOUT_IMPORT = {
    "aiosqlite": "the SQLite driver SQLAlchemy loads for sqlite+aiosqlite:// URLs",
    "python-multipart": "FastAPI's form and upload parsing (OAuth2 password form, bulk imports)",
    "fastapi-offline": "read for its Swagger UI assets (importlib.resources.files)",
    "vietnamadminunits": "read for its unit trees and crosswalk (importlib.resources)",
    "email-validator": "what pydantic's EmailStr validates e-mail addresses with",
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(member: Path) -> set[str]:
    with (member / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    names = {re.split(r"[\s\[<>=!~;@(]", r, maxsplit=1)[0] for r in project["dependencies"]}
    return {normalized(name) for name in names} - set(MEMBERS)


def imported_distributions(member: Path) -> set[str]:
    modules: set[str] = set()
    texts: list[str] = []
    for path in (member / "src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        texts.append(text)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.partition(".")[0])
    distributions = packages_distributions()
    used = {normalized(d) for module in modules for d in distributions.get(module, [])}
    source = "\n".join(texts)
    used |= {name for name in USED_WITHOUT_IMPORT if name.replace("-", "_") in source}
    return used | ({"aiosqlite"} if "sqlite+aiosqlite" in source else set())


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_every_declared_dependency_is_used(member: str) -> None:
    unused = declared(MEMBERS[member]) - imported_distributions(MEMBERS[member])
    unexplained = {name for name in unused if name not in USED_WITHOUT_IMPORT}
    assert not unexplained, f"{member} declares {sorted(unexplained)} and never uses them"
