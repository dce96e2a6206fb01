"""Reads docker-compose.yml so that the native run starts exactly the processes it describes.

No Docker engine is needed: each service's `command` and `environment` are taken from the file,
with host names and ports mapped onto this machine. Running them is the proof that the compose
file matches the code.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[3] / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@dataclass(frozen=True)
class ComposeProcess:
    name: str
    command: list[str]
    environment: dict[str, str]
    depends_on: list[str]
    one_shot: bool  # runs to completion (migrations) rather than forever


class MissingVariable(KeyError):
    pass


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` substitution."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = variables.get(name)
        if op in (":-", "-") and not current:
            return arg or ""
        if op in (":?", "?") and not current:
            raise MissingVariable(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def load(
    path: Path = COMPOSE_FILE, variables: Mapping[str, str] | None = None
) -> dict[str, ComposeProcess]:
    """The services built from this repository (not postgres or rabbitmq), by name."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    variables = dict(os.environ if variables is None else variables)
    processes: dict[str, ComposeProcess] = {}
    for name, service in document["services"].items():
        if "build" not in service:
            continue
        processes[name] = ComposeProcess(
            name=name,
            command=[interpolate(str(part), variables) for part in _command(service)],
            environment={
                key: interpolate(str(value), variables)
                for key, value in _environment(service).items()
            },
            depends_on=list(_depends_on(service)),
            one_shot=str(service.get("restart", "")) in ("no", '"no"', "False"),
        )
    return processes


def _command(service: Mapping[str, Any]) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else list(command)


def _environment(service: Mapping[str, Any]) -> dict[str, Any]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return dict(environment)


def _depends_on(service: Mapping[str, Any]) -> list[str]:
    depends = service.get("depends_on") or []
    return list(depends) if isinstance(depends, (list, dict)) else []
