"""What each process of docker-compose.yml runs: a module that exists, and answers its probe.

A uvicorn command must name an app factory that builds a FastAPI app answering the liveness path
its healthcheck fetches, on the port the command gives; a `python -m` command must name a module
that runs something under its main guard.
"""

import ast
import importlib
import importlib.util
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from support.compose_file import (
    BUILT,
    PYTHON_MODULES,
    ROOT,
    UVICORN,
    Isolate,
    Process,
    processes,
    read_toml,
)

HEALTH_PATH = "/health/live"


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


def test_every_command_is_a_uvicorn_app_factory_or_a_python_module() -> None:
    assert set(UVICORN) | set(PYTHON_MODULES) == set(BUILT)
    assert UVICORN
    assert PYTHON_MODULES


@pytest.mark.parametrize("name", UVICORN)
async def test_each_uvicorn_command_builds_a_fastapi_app_that_answers_its_healthcheck(
    name: str, isolate: Isolate
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


def locked_closure(package: str) -> set[str]:
    """Every distribution uv.lock installs with `package` (extras followed, markers ignored)."""
    locked = {entry["name"]: entry for entry in read_toml(ROOT / "uv.lock")["package"]}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    pending: list[tuple[str, tuple[str, ...]]] = [(package, ())]
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        entry = locked[name]
        requirements = list(entry.get("dependencies", []))
        for extra in extras:
            requirements += entry.get("optional-dependencies", {}).get(extra, [])
        pending += [(needed["name"], tuple(needed.get("extra", []))) for needed in requirements]
    return {name for name, _ in seen}


@pytest.mark.parametrize("name", UVICORN)
def test_each_uvicorn_command_runs_on_uvloop_and_httptools_which_its_image_installs(
    name: str,
) -> None:
    process = processes()[name]
    assert (process.option("--loop"), process.option("--http")) == ("uvloop", "httptools"), (
        f"{name}: say --loop uvloop --http httptools (uvicorn would fall back to slower ones)"
    )
    assert {"uvloop", "httptools"} <= locked_closure(process.package)


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


def test_the_gateway_alone_decides_which_proxies_name_the_client() -> None:
    # Uvicorn's own proxy headers would believe X-Forwarded-For from any local client; the
    # gateway believes only TRUSTED_PROXIES.
    gateways = [process for process in processes().values() if process.package == "gateway"]
    served = [process for process in gateways if process.name in UVICORN]
    assert served
    for process in served:
        assert "--no-proxy-headers" in process.command, f"{process.name}: add --no-proxy-headers"
