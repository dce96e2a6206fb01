"""docker-compose.yml as the deployment tests read it: its services, their processes and settings.

No Docker engine runs here (nor in CI), so nothing is built or started: the file is read and every
name in it is looked up in the workspace. Interpolation uses the values of .env.example, as
`docker compose --env-file` would. The lists below are module constants rather than fixtures
because the tests are parametrized over them, which happens before any fixture exists.
"""

import functools
import importlib
import importlib.util
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


# --- Interpolation --------------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+))"
)


class MissingVariable(Exception):
    pass


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's substitution: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR:?error}`."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["braced"] or match["bare"], match["op"], match["arg"] or ""
        value = variables.get(name)
        absent = value is None if op in ("-", "?") else not value
        if op in (":-", "-") and absent:
            return arg
        if op in (":?", "?") and absent:
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def referenced_variables(document: Mapping[str, Any]) -> dict[str, bool]:
    """Every variable the file substitutes, and whether it is required (`${VAR:?...}`)."""
    found: dict[str, bool] = {}
    for text in _strings(document):
        for match in _VARIABLE.finditer(text):
            name = match["braced"] or match["bare"]
            if name:
                found[name] = found.get(name, False) or (match["op"] or "").endswith("?")
    return found


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


# --- Services and processes -----------------------------------------------------------------------

DOCUMENT: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = DOCUMENT["services"]
# The services built from this repository (the others run an image of their own: postgres, ...).
BUILT = sorted(name for name, service in SERVICES.items() if "build" in service)
UVICORN = sorted(name for name in BUILT if SERVICES[name]["command"][0] == "uvicorn")
PYTHON_MODULES = sorted(name for name in BUILT if SERVICES[name]["command"][:2] == ["python", "-m"])


def variable_sets() -> dict[str, dict[str, str]]:
    example = read_env_file(ENV_EXAMPLE)
    required = {name for name, is_required in referenced_variables(DOCUMENT).items() if is_required}
    # Each user and password unique, so that a URL carrying the wrong one cannot pass unnoticed.
    distinct = {
        name: f"{name.lower().replace('_', '-')}-{index}"
        if name.endswith(("_USER", "_PASSWORD"))
        else value
        for index, (name, value) in enumerate(example.items())
    }
    return {
        "env-example": example,
        "required-only": {name: value for name, value in example.items() if name in required},
        "distinct-credentials": distinct,
    }


@dataclass(frozen=True)
class Process:
    """One service of the file built from this repository: what it runs, with what settings."""

    name: str
    service: Mapping[str, Any]
    command: list[str]
    environment: dict[str, str]

    @property
    def module(self) -> str:
        """The module the command runs: `households.main`, `households.relay`, ..."""
        if self.command[0] == "uvicorn":
            return self.command[1].partition(":")[0]
        return self.command[2]

    @property
    def package(self) -> str:
        return self.module.partition(".")[0]

    @property
    def one_shot(self) -> bool:
        return self.service.get("restart") == "no"

    @property
    def port(self) -> int | None:
        return int(self.command[self.command.index("--port") + 1]) if "--port" in self else None

    def __contains__(self, option: str) -> bool:
        return option in self.command

    def option(self, name: str) -> str | None:
        return self.command[self.command.index(name) + 1] if name in self.command else None


# What the `isolate` fixture (conftest.py) gives a test: apply a process's environment, get the
# settings class that reads it.
Isolate = Callable[[Process], type[BaseSettings]]


def environment_of(service: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    # A value left empty would be taken from the host's environment: the file must say it all.
    assert all(value is not None for value in raw.values()), f"unset values: {raw}"
    return {name: interpolate(str(value), variables) for name, value in raw.items()}


@functools.cache
def processes(variable_set: str = "env-example") -> dict[str, Process]:
    variables = variable_sets()[variable_set]
    return {
        name: Process(
            name=name,
            service=SERVICES[name],
            command=[interpolate(str(part), variables) for part in SERVICES[name]["command"]],
            environment=environment_of(SERVICES[name], variables),
        )
        for name in BUILT
    }


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Dependencies by name, with their condition."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def container_ports(service: Mapping[str, Any]) -> set[int]:
    ports = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, Mapping):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def server_of(key: str) -> str:
    """The one service every process's `key` URL points at (`DATABASE_URL` -> postgres)."""
    hosts = {
        urlsplit(p.environment[key]).hostname for p in processes().values() if key in p.environment
    }
    assert len(hosts) == 1, f"{key} points at {hosts}"
    assert hosts <= SERVICES.keys(), f"{key} points at {hosts}, not a service of the file"
    return str(hosts.pop())


def settings_class(process: Process) -> type[BaseSettings]:
    settings: type[BaseSettings] = importlib.import_module(f"{process.package}.config").Settings
    return settings


def owns_a_database(package: str) -> bool:
    return importlib.util.find_spec(f"{package}.migrate") is not None


# --- The uv workspace the images install from -----------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def workspace_members() -> dict[str, Path]:
    """Project name -> folder (relative to the root) of every uv workspace member."""
    workspace = read_toml(ROOT / "pyproject.toml")["tool"]["uv"]["workspace"]
    excluded = {path for pattern in workspace.get("exclude", []) for path in ROOT.glob(pattern)}
    members = {}
    for pattern in workspace["members"]:
        for folder in sorted(ROOT.glob(pattern)):
            if folder not in excluded and (folder / "pyproject.toml").is_file():
                name = read_toml(folder / "pyproject.toml")["project"]["name"]
                members[name] = folder.relative_to(ROOT)
    return members


def workspace_closure(package: str) -> set[str]:
    """The package and every workspace member it depends on, transitively."""
    members, closure, pending = workspace_members(), set(), [package]
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        project = read_toml(ROOT / members[name] / "pyproject.toml")["project"]
        for requirement in project.get("dependencies", []):
            dependency = re.split(r"[\s\[<>=!~;@(]", requirement, maxsplit=1)[0]
            if dependency in members:
                pending.append(dependency)
    return closure
