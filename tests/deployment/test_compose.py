"""docker-compose.yml, the Dockerfiles and the PostgreSQL init script, held against the code.

No Docker engine runs here (nor in CI), so nothing is built or started: the files are read and every
name in them is looked up in the workspace. A command must run a module that exists, a variable
must be a setting of the process that reads it (pydantic-settings ignores unknown ones silently), a
URL must point at a service and port that serve it, a dependency must be able to become healthy or
complete. Interpolation uses the values of .env.example, as `docker compose --env-file` would.
"""

import ast
import functools
import importlib
import importlib.util
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import structlog
import yaml
from fastapi import FastAPI
from pydantic_settings import BaseSettings
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
MAKEFILE = ROOT / "Makefile"

HEALTH_PATH = "/health/live"
RABBITMQ_MANAGEMENT_PORT = 15672
INIT_SCRIPTS = "/docker-entrypoint-initdb.d"
# Settings every process must get from the file rather than from its embedded-run default.
DEPLOYMENT_SETTINGS = {"SERVICE_NAME", "ENVIRONMENT", "LOG_JSON"}
# ...and every process of a service that owns a database (one with a `migrate` module).
SERVICE_SETTINGS = {"DATABASE_URL", "MESSAGE_BUS", "RABBITMQ_URL"}
RESTARTING = {"always", "unless-stopped", "on-failure"}


# --- Compose: interpolation -----------------------------------------------------------------------

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


# --- Compose: services and processes --------------------------------------------------------------

DOCUMENT: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = DOCUMENT["services"]
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


def settings_class(process: Process) -> type[BaseSettings]:
    settings: type[BaseSettings] = importlib.import_module(f"{process.package}.config").Settings
    return settings


def owns_a_database(package: str) -> bool:
    return importlib.util.find_spec(f"{package}.migrate") is not None


@pytest.fixture
def isolate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Callable[[Process], type[BaseSettings]]:
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


# --- Workspace and Dockerfiles --------------------------------------------------------------------


def _toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def workspace_members() -> dict[str, Path]:
    """Project name -> folder (relative to the root) of every uv workspace member."""
    workspace = _toml(ROOT / "pyproject.toml")["tool"]["uv"]["workspace"]
    excluded = {path for pattern in workspace.get("exclude", []) for path in ROOT.glob(pattern)}
    members = {}
    for pattern in workspace["members"]:
        for folder in sorted(ROOT.glob(pattern)):
            if folder not in excluded and (folder / "pyproject.toml").is_file():
                name = _toml(folder / "pyproject.toml")["project"]["name"]
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
        project = _toml(ROOT / members[name] / "pyproject.toml")["project"]
        for requirement in project.get("dependencies", []):
            dependency = re.split(r"[\s\[<>=!~;@(]", requirement, maxsplit=1)[0]
            if dependency in members:
                pending.append(dependency)
    return closure


@dataclass(frozen=True)
class Instruction:
    stage: int
    op: str
    arguments: str


def read_dockerfile(path: Path) -> list[Instruction]:
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    instructions, stage = [], -1
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, arguments = line.partition(" ")
        stage += op.upper() == "FROM"
        instructions.append(Instruction(stage, op.upper(), arguments.strip()))
    return instructions


def dockerfile_of(name: str) -> Path:
    build = SERVICES[name]["build"]
    return ROOT / str(build.get("context", ".")) / str(build.get("dockerfile", "Dockerfile"))


DOCKERFILES = sorted({str(dockerfile_of(name).relative_to(ROOT)) for name in BUILT})


def installed_package(instructions: list[Instruction]) -> str:
    packages: set[str] = {
        match
        for instruction in instructions
        if instruction.op == "RUN" and "uv sync" in instruction.arguments
        for match in re.findall(r"--package[ =](\S+)", instruction.arguments)
    }
    assert len(packages) == 1, f"one --package per Dockerfile, found {packages}"
    return packages.pop()


def copied_from_context(instructions: list[Instruction]) -> list[tuple[int, str]]:
    """(position, source) of every COPY from the build context (not from another stage)."""
    copied = []
    for position, instruction in enumerate(instructions):
        if instruction.op in ("COPY", "ADD"):
            words = shlex.split(instruction.arguments)
            if any(word.startswith("--from") for word in words):
                continue
            sources = [word for word in words if not word.startswith("--")][:-1]
            copied += [(position, source.rstrip("/")) for source in sources]
    return copied


# --- .dockerignore --------------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    regex, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        elif pattern[index] == "[":
            end = pattern.index("]", index)
            regex, index = regex + pattern[index : end + 1], end + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.compile(regex)


def ignored_by_docker(path: str) -> bool:
    """Whether .dockerignore leaves `path` (relative to the root) out of the build context."""
    parts = path.split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    excluded = False
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        regex = _pattern(line.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not exception
    return excluded


# === Images =======================================================================================


def test_every_service_of_this_repository_is_built_from_the_root_by_its_dockerfile() -> None:
    for name in BUILT:
        build = SERVICES[name]["build"]
        assert isinstance(build, Mapping), f"{name}: build needs a context and a dockerfile"
        assert (ROOT / build["context"]).resolve() == ROOT, f"{name}: context is not the root"
        assert dockerfile_of(name).is_file(), f"{name}: no {build['dockerfile']}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_each_dockerfile_installs_one_workspace_member(dockerfile: str) -> None:
    package = installed_package(read_dockerfile(ROOT / dockerfile))
    members = workspace_members()
    assert package in members, f"--package {package} is not one of {sorted(members)}"
    assert (ROOT / members[package] / "pyproject.toml").is_file()


@pytest.mark.parametrize("name", BUILT)
def test_each_service_runs_code_its_image_installs(name: str) -> None:
    process = processes()[name]
    package = installed_package(read_dockerfile(dockerfile_of(name)))
    modules = {member.replace("-", "_") for member in workspace_closure(package)}
    assert process.package in modules, f"{name} runs {process.module}; the image has {modules}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_each_dockerfile_copies_its_package_and_the_workspace_members_it_depends_on(
    dockerfile: str,
) -> None:
    instructions = read_dockerfile(ROOT / dockerfile)
    copied = {source for _, source in copied_from_context(instructions)}
    members = workspace_members()
    needed = {str(members[name]) for name in workspace_closure(installed_package(instructions))}
    assert needed <= copied, f"not copied: {sorted(needed - copied)}"
    assert {"pyproject.toml", "uv.lock"} <= copied


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_each_dockerfile_installs_the_locked_dependencies_before_copying_sources(
    dockerfile: str,
) -> None:
    instructions = read_dockerfile(ROOT / dockerfile)
    syncs = [
        (position, instruction.arguments)
        for position, instruction in enumerate(instructions)
        if instruction.op == "RUN" and "uv sync" in instruction.arguments
    ]
    assert len(syncs) >= 2, "a dependencies layer, then a sources layer"
    for _, arguments in syncs:
        assert "--frozen" in arguments, arguments
        assert "--no-dev" in arguments, arguments
    first, last = syncs[0], syncs[-1]
    assert "--no-install-workspace" in first[1]
    assert "--no-install-workspace" not in last[1]
    sources = {str(folder) for folder in workspace_members().values()}
    copies_of_sources = [
        position for position, source in copied_from_context(instructions) if source in sources
    ]
    assert copies_of_sources, "no workspace sources copied"
    assert first[0] < min(copies_of_sources), "dependencies first, then sources"
    assert max(copies_of_sources) < last[0], "the last uv sync installs the sources"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_each_dockerfile_installs_the_uv_the_makefile_pins_and_never_downloads_python(
    dockerfile: str,
) -> None:
    text = (ROOT / dockerfile).read_text(encoding="utf-8")
    pinned = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert pinned is not None, "the Makefile no longer pins UV_VERSION"
    assert re.search(rf"pip install .*\buv=={re.escape(pinned[1])}\b", text)
    assert re.search(r"\bUV_PYTHON_DOWNLOADS=never\b", text)
    assert re.search(r"\bUV_COMPILE_BYTECODE=1\b", text)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_each_image_runs_as_an_unprivileged_user_from_the_build_stage_environment(
    dockerfile: str,
) -> None:
    instructions = read_dockerfile(ROOT / dockerfile)
    images = {
        instruction.arguments.split()[0] for instruction in instructions if instruction.op == "FROM"
    }
    # The virtual environment's interpreter is a link to the base image's: one base for all stages.
    assert len(images) == 1, images
    version = re.fullmatch(r"python:(\d+)\.(\d+)-slim", images.pop())
    assert version is not None, "python:X.Y-slim"
    requires = _toml(ROOT / "pyproject.toml")["project"]["requires-python"]
    minimum = re.search(r">=\s*(\d+)\.(\d+)", requires)
    assert minimum is not None
    assert (int(version[1]), int(version[2])) >= (int(minimum[1]), int(minimum[2]))
    final = [
        instruction for instruction in instructions if instruction.stage == instructions[-1].stage
    ]
    users = [instruction.arguments for instruction in final if instruction.op == "USER"]
    assert users, "runs as root"
    assert users[-1].split(":")[0] not in ("root", "0"), "runs as root"
    assert any(
        instruction.op == "ENV"
        and re.search(r"\bPATH=/app/\.venv/bin:\$PATH\b", instruction.arguments)
        for instruction in final
    )


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    for path in [".git", ".venv", ".tools", "data", ".env", "services/households/.venv",
                 "libs/kit/src/kit/__pycache__/db.cpython-311.pyc", ".pytest_cache"]:  # fmt: skip
        assert ignored_by_docker(path), f"{path} would be sent to the Docker daemon"


def test_the_build_context_keeps_everything_the_dockerfiles_copy() -> None:
    wanted = set()
    for dockerfile in DOCKERFILES:
        for _, source in copied_from_context(read_dockerfile(ROOT / dockerfile)):
            path = ROOT / source
            if path.is_file():
                wanted.add(source)
                continue
            wanted.add(f"{source}/pyproject.toml")
            for file in (path / "src").rglob("*"):
                if file.is_file() and "__pycache__" not in file.parts:
                    wanted.add(str(file.relative_to(ROOT)))
    assert wanted
    assert not [path for path in sorted(wanted) if ignored_by_docker(path)]


# === Commands =====================================================================================


def test_every_command_is_a_uvicorn_app_factory_or_a_python_module() -> None:
    assert set(UVICORN) | set(PYTHON_MODULES) == set(BUILT)
    assert UVICORN
    assert PYTHON_MODULES


@pytest.mark.parametrize("name", UVICORN)
async def test_each_uvicorn_command_builds_a_fastapi_app_that_answers_its_healthcheck(
    name: str, isolate: Callable[[Process], type[BaseSettings]]
) -> None:
    process = processes()[name]
    module_name, _, attribute = process.command[1].partition(":")
    assert "--factory" in process, "create_app is a factory: uvicorn needs --factory"
    assert process.option("--host") == "0.0.0.0", "other containers could not reach it"
    factory = getattr(importlib.import_module(module_name), attribute, None)
    assert callable(factory), f"{module_name} has no callable {attribute}"
    isolate(process)
    app = factory()  # what uvicorn --factory does, with the container's environment
    assert isinstance(app, FastAPI)
    # The liveness probe needs no lifespan (no database, no broker): ask the app in memory.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        response = await client.get(urlsplit(healthcheck_url(process)).path)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", PYTHON_MODULES)
def test_each_python_command_runs_a_module_with_a_main_guard(name: str) -> None:
    module = processes()[name].module
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"no module {module}"
    if spec.submodule_search_locations is not None:  # a package runs its __main__
        spec = importlib.util.find_spec(f"{module}.__main__")
        assert spec is not None, f"{module} has no __main__"
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    guards = [node for node in tree.body if isinstance(node, ast.If) and _is_main_guard(node.test)]
    assert guards, f"{spec.origin}: nothing runs under `if __name__ == '__main__'`"
    importlib.import_module(spec.name)  # and it imports (the guard keeps it from running)


def healthcheck_url(process: Process) -> str:
    """The one URL the service's healthcheck command fetches."""
    urls = re.findall(r"https?://[^'\"\s]+", " ".join(process.service["healthcheck"]["test"]))
    assert len(urls) == 1, f"{process.name}: one URL in the healthcheck, found {urls}"
    return str(urls[0])


def _is_main_guard(test: ast.expr) -> bool:
    if not (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    sides = [test.left, test.comparators[0]]
    names = {side.id for side in sides if isinstance(side, ast.Name)}
    constants = {side.value for side in sides if isinstance(side, ast.Constant)}
    return names == {"__name__"} and constants == {"__main__"}


# === Settings =====================================================================================


@pytest.mark.parametrize("name", BUILT)
def test_every_variable_a_service_sets_is_a_setting_of_its_process(name: str) -> None:
    process = processes()[name]
    fields = settings_class(process).model_fields
    unknown = sorted(set(process.environment) - set(fields))
    assert not unknown, f"{name}: {unknown} are not settings of {process.package}.config.Settings"


@pytest.mark.parametrize("name", BUILT)
def test_every_setting_a_process_needs_is_set(name: str) -> None:
    process = processes()[name]
    fields = settings_class(process).model_fields
    required = {field for field, info in fields.items() if info.is_required()}
    needed = required | DEPLOYMENT_SETTINGS
    if owns_a_database(process.package):
        needed |= SERVICE_SETTINGS
    missing = sorted(needed - set(process.environment))
    assert not missing, f"{name} leaves {missing} to their embedded-run defaults (or unset)"


@pytest.mark.parametrize("variable_set", ["env-example", "required-only"])
@pytest.mark.parametrize("name", BUILT)
def test_each_process_reads_valid_production_settings(
    name: str, variable_set: str, isolate: Callable[[Process], type[BaseSettings]]
) -> None:
    process = processes(variable_set)[name]
    settings: Any = isolate(process)()
    assert settings.SERVICE_NAME == process.package
    assert settings.ENVIRONMENT == "production"
    assert settings.LOG_JSON is True
    if owns_a_database(process.package):
        # Separate containers share no memory: an in-process bus would drop every event.
        assert settings.MESSAGE_BUS == "rabbitmq"


# === Ports ========================================================================================


@pytest.mark.parametrize("name", UVICORN)
def test_each_http_process_is_probed_on_the_port_and_path_it_serves(name: str) -> None:
    process = processes()[name]
    assert process.port is not None, f"{name}: say --port, the URLs and the probe depend on it"
    test = process.service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], "the images have Python, not curl"
    compile(test[3], f"<{name} healthcheck>", "exec")
    url = urlsplit(healthcheck_url(process))
    assert url.hostname in ("127.0.0.1", "localhost")
    assert (url.port, url.path) == (process.port, HEALTH_PATH)


def test_the_gateway_reaches_each_service_at_its_api_container_and_port(
    isolate: Callable[[Process], type[BaseSettings]],
) -> None:
    [gateway] = [process for process in processes().values() if process.package == "gateway"]
    settings: Any = isolate(gateway)()
    upstreams: dict[str, str] = settings.upstream_urls()
    assert upstreams
    for upstream, url in upstreams.items():
        parts = urlsplit(url)
        target = processes().get(parts.hostname or "")
        assert target is not None, f"{upstream}: {url} names no service of the file"
        assert target.command[0] == "uvicorn", f"{upstream}: {target.name} serves no HTTP"
        assert target.package == upstream, f"{upstream}: {url} runs {target.module}"
        assert (parts.scheme, parts.port) == ("http", target.port), url


def test_only_the_gateway_and_the_rabbitmq_management_ui_publish_ports() -> None:
    [gateway] = [process for process in processes().values() if process.package == "gateway"]
    broker = _server_of("RABBITMQ_URL")
    published = {name: container_ports(service) for name, service in SERVICES.items()}
    assert {name: ports for name, ports in published.items() if ports} == {
        gateway.name: {gateway.port},
        broker: {RABBITMQ_MANAGEMENT_PORT},
    }


# === Start order and restarts =====================================================================


def test_every_dependency_names_a_defined_service_and_a_condition_it_can_meet() -> None:
    for name, service in SERVICES.items():
        for dependency, condition in depends_on(service).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            target = SERVICES[dependency]
            if condition == "service_healthy":
                assert "healthcheck" in target, f"{dependency} never becomes healthy"
                assert not target["healthcheck"].get("disable"), f"{dependency}: disabled"
            elif condition == "service_completed_successfully":
                assert target.get("restart") == "no", f"{dependency} never completes"
            else:
                assert condition == "service_started", condition


def test_the_dependencies_have_no_cycle() -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for dependency in depends_on(SERVICES[name]):
                visit(dependency, (*path, name))
            done.add(name)

    for name in SERVICES:
        visit(name, ())


def test_migrations_complete_before_the_processes_of_their_service_start() -> None:
    every = processes().values()
    for package in {process.package for process in every if owns_a_database(process.package)}:
        migrations = [p for p in every if p.module == f"{package}.migrate"]
        assert len(migrations) == 1, f"{package}: one migrations service, found {migrations}"
        for process in every:
            if process.package == package and process is not migrations[0]:
                assert depends_on(process.service).get(migrations[0].name) == (
                    "service_completed_successfully"
                ), f"{process.name} may start before {migrations[0].name} has completed"


def test_each_process_waits_for_the_servers_it_connects_to() -> None:
    for process in processes().values():
        # Migrations touch the database only; the long-running processes use every URL they get.
        keys = ["DATABASE_URL"] if process.one_shot else sorted(process.environment)
        for key in keys:
            host = urlsplit(process.environment.get(key, "")).hostname
            if host in SERVICES:
                assert depends_on(process.service).get(host) == "service_healthy", (
                    f"{process.name} may start before {host} ({key}) is healthy"
                )


def test_migrations_run_once_and_every_other_service_restarts() -> None:
    for name, service in SERVICES.items():
        process = processes().get(name)
        if process is not None and process.module.endswith(".migrate"):
            assert service.get("restart") == "no", f'{name}: restart: "no" (quoted)'
        else:
            assert service.get("restart") in RESTARTING, f"{name}: restart policy"


# === Databases and credentials ====================================================================


def _server_of(key: str) -> str:
    hosts = {
        urlsplit(p.environment[key]).hostname for p in processes().values() if key in p.environment
    }
    assert len(hosts) == 1, f"{key} points at {hosts}"
    assert hosts <= SERVICES.keys(), f"{key} points at {hosts}, not a service of the file"
    return str(hosts.pop())


def database_names() -> dict[str, str]:
    """Service package -> the database its processes use."""
    names: dict[str, set[str]] = {}
    for process in processes().values():
        if "DATABASE_URL" in process.environment:
            url = make_url(process.environment["DATABASE_URL"])
            names.setdefault(process.package, set()).add(str(url.database))
    assert all(len(databases) == 1 for databases in names.values()), names
    return {package: databases.pop() for package, databases in names.items()}


def test_each_service_owns_a_database_of_its_own_on_the_postgres_service() -> None:
    server = _server_of("DATABASE_URL")
    assert str(SERVICES[server]["image"]).startswith("postgres:")
    for process in processes().values():
        if "DATABASE_URL" in process.environment:
            url = make_url(process.environment["DATABASE_URL"])
            assert url.drivername == "postgresql+asyncpg", url
            assert url.port == 5432, url
            url.get_dialect().import_dbapi()  # the driver is installed
    names = database_names()
    assert len(set(names.values())) == len(names), f"a database shared by services: {names}"


def test_the_postgres_init_script_creates_exactly_the_service_databases() -> None:
    volumes = [str(volume) for volume in SERVICES[_server_of("DATABASE_URL")].get("volumes", [])]
    mounts = [volume.split(":") for volume in volumes if f":{INIT_SCRIPTS}" in volume]
    assert len(mounts) == 1, f"mount the init scripts at {INIT_SCRIPTS}"
    folder = ROOT / mounts[0][0]
    scripts = sorted(folder.glob("*.sql")) + sorted(folder.glob("*.sh"))
    assert scripts, f"no init script in {folder}"
    created = {
        name.lower()
        for script in scripts
        for name in re.findall(
            r'CREATE\s+DATABASE\s+"?(\w+)"?', script.read_text(encoding="utf-8"), re.IGNORECASE
        )
    }
    assert created == set(database_names().values())


@pytest.mark.parametrize("variable_set", ["env-example", "required-only", "distinct-credentials"])
def test_processes_log_in_with_the_credentials_the_servers_are_given(variable_set: str) -> None:
    variables = variable_sets()[variable_set]
    postgres = environment_of(SERVICES[_server_of("DATABASE_URL")], variables)
    rabbitmq = environment_of(SERVICES[_server_of("RABBITMQ_URL")], variables)
    for process in processes(variable_set).values():
        if "DATABASE_URL" in process.environment:
            url = urlsplit(process.environment["DATABASE_URL"])
            assert url.username == postgres.get("POSTGRES_USER", "postgres")
            assert url.password == postgres["POSTGRES_PASSWORD"]
        if "RABBITMQ_URL" in process.environment:
            url = urlsplit(process.environment["RABBITMQ_URL"])
            assert url.username == rabbitmq.get("RABBITMQ_DEFAULT_USER", "guest")
            assert url.password == rabbitmq.get("RABBITMQ_DEFAULT_PASS", "guest")
            assert url.path in ("", "/"), "the default virtual host"


def test_passwords_are_required_variables_never_values_written_in_the_file() -> None:
    required = re.compile(r"\$\{\w+:\?[^}]*\}")
    for name, service in SERVICES.items():
        raw = service.get("environment") or {}
        for key, value in raw.items():
            if "PASS" in key:
                assert required.fullmatch(str(value)), f"{name}.{key}: use ${{VAR:?message}}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value)):
                assert required.fullmatch(password), f"{name}.{key}: password in the URL"


def test_env_example_sets_every_variable_the_file_requires_and_no_other() -> None:
    example = read_env_file(ENV_EXAMPLE)
    referenced = referenced_variables(DOCUMENT)
    required = {name for name, is_required in referenced.items() if is_required}
    assert required <= example.keys(), f"missing from .env.example: {required - example.keys()}"
    assert example.keys() <= referenced.keys(), f"unused: {example.keys() - referenced.keys()}"
