"""The images: the root Dockerfile, the builds docker-compose.yml asks of it, and .dockerignore.

One Dockerfile builds every image; its build args say which workspace member to install. Nothing is
built here: each image's instructions are read with the args Compose gives that image substituted,
as the build would see them, and held against the workspace.
"""

import re
import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from support.compose_file import (
    BUILT,
    DOCUMENT,
    ROOT,
    SERVICES,
    interpolate,
    processes,
    read_toml,
    variable_sets,
    workspace_closure,
    workspace_members,
)

DOCKERIGNORE = ROOT / ".dockerignore"
MAKEFILE = ROOT / "Makefile"
SHELL = Path("/bin/sh")


# --- Images, as the file builds them --------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """One image of the file: how it is built, and the services that run it."""

    name: str
    dockerfile: Path
    args: dict[str, str]
    services: tuple[str, ...]


def image_name(service: str) -> str:
    # Without `image:`, Compose names what it builds after the project and the service.
    return str(SERVICES[service].get("image") or f"{DOCUMENT['name']}-{service}")


def build_of(service: str) -> Mapping[str, Any]:
    build = SERVICES[service]["build"]
    return build if isinstance(build, Mapping) else {"context": build}


def build_args(build: Mapping[str, Any]) -> dict[str, str]:
    raw = build.get("args") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    # An arg without a value would be taken from the host's environment.
    assert all(value is not None for value in raw.values()), f"unset build args: {raw}"
    variables = variable_sets()["env-example"]
    return {name: interpolate(str(value), variables) for name, value in raw.items()}


def images() -> dict[str, Image]:
    services: dict[str, list[str]] = {}
    for name in BUILT:
        services.setdefault(image_name(name), []).append(name)
    found = {}
    for image, names in services.items():
        build = build_of(names[0])  # the others build it the same way, or a test says otherwise
        context = ROOT / str(build.get("context", "."))
        found[image] = Image(
            name=image,
            dockerfile=context / str(build.get("dockerfile", "Dockerfile")),
            args=build_args(build),
            services=tuple(names),
        )
    return found


IMAGES = sorted(images())
DOCKERFILES = sorted({str(image.dockerfile.relative_to(ROOT)) for image in images().values()})


# --- Dockerfiles ----------------------------------------------------------------------------------


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


def _declarations(instruction: Instruction) -> dict[str, str | None]:
    """`ARG NAME=default OTHER` -> {NAME: default, OTHER: None}."""
    declared: dict[str, str | None] = {}
    for word in shlex.split(instruction.arguments):
        name, has_default, default = word.partition("=")
        declared[name] = default if has_default else None
    return declared


def declared_args(instructions: list[Instruction]) -> dict[str, str | None]:
    """Every build arg of the Dockerfile, with its default (None or empty: it has none)."""
    declared: dict[str, str | None] = {}
    for instruction in instructions:
        if instruction.op == "ARG":
            declared |= _declarations(instruction)
    return declared


def _references(name: str) -> re.Pattern[str]:
    return re.compile(rf"\$(?:\{{{name}\}}|{name}\b)")


def _substitute(text: str, values: Mapping[str, str]) -> str:
    def value_of(match: re.Match[str]) -> str:
        return values.get(match[1] or match[2], match[0])

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", value_of, text)


def expand(instructions: list[Instruction], args: Mapping[str, str]) -> list[Instruction]:
    """The instructions as a build with `args` runs them: every build arg replaced by its value.

    Docker substitutes them in COPY, ENV, ...; a RUN gets them as environment variables, which its
    shell substitutes to the same values. An arg is visible from its ARG to the end of its stage
    (one declared before the first FROM, in the FROM lines only); unset, it is empty.
    """
    expanded: list[Instruction] = []
    global_scope: dict[str, str] = {}
    scope: dict[str, str] = {}
    for instruction in instructions:
        if instruction.op == "FROM":
            scope = {}
        values = global_scope if instruction.op == "FROM" else scope
        text = _substitute(instruction.arguments, values)
        expanded.append(Instruction(instruction.stage, instruction.op, text))
        if instruction.op == "ARG":
            target = global_scope if instruction.stage < 0 else scope
            for name, default in _declarations(instruction).items():
                target[name] = args.get(name, default or "")
    return expanded


def built(image: Image) -> list[Instruction]:
    return expand(read_dockerfile(image.dockerfile), image.args)


def uv_syncs(instructions: list[Instruction]) -> list[tuple[int, str]]:
    """(position, arguments) of every `uv sync`."""
    return [
        (position, instruction.arguments)
        for position, instruction in enumerate(instructions)
        if instruction.op == "RUN" and "uv sync" in instruction.arguments
    ]


def installed_packages(instructions: list[Instruction]) -> set[str]:
    packages = set()
    for _, arguments in uv_syncs(instructions):
        words = shlex.split(arguments)
        for word, following in zip(words, [*words[1:], ""], strict=True):
            if word == "--package":
                packages.add(following)
            elif word.startswith("--package="):
                packages.add(word.partition("=")[2])
    return packages


def installed_package(image: Image) -> str:
    packages = installed_packages(built(image))
    assert len(packages) == 1, f"{image.name}: one --package per image, found {packages}"
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
            copied += [(position, str(PurePosixPath(source))) for source in sources]
    return copied


def run_shell(script: str, environment: Mapping[str, str], folder: Path) -> tuple[int, str]:
    """A RUN's shell form as the build runs it, with shell builtins only: PATH names an empty
    folder, so whatever the script is, no program runs on this machine. (status, output)."""
    script = re.sub(r"^(?:--\S+\s+)*", "", script)  # RUN's own options: --mount=...
    nothing = folder / "no-programs"
    nothing.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(SHELL), "-c", script],
        env={**environment, "PATH": str(nothing)},
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


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


# === Builds =======================================================================================


def test_every_service_of_this_repository_is_built_from_the_root_and_says_what_to_run() -> None:
    for name in BUILT:
        build = SERVICES[name]["build"]
        assert isinstance(build, Mapping), f"{name}: build needs a context, a dockerfile, args"
        assert (ROOT / build["context"]).resolve() == ROOT, f"{name}: context is not the root"
        assert images()[image_name(name)].dockerfile.is_file(), f"{name}: no {build['dockerfile']}"
        # The images have no default command: one Dockerfile cannot name each member's module.
        command = SERVICES[name].get("command")
        assert isinstance(command, list), f"{name}: say the command, as a list"
        assert command, f"{name}: say the command, as a list"


def test_there_is_one_dockerfile_and_no_forgotten_other() -> None:
    candidates = [ROOT, *(ROOT / folder for folder in workspace_members().values())]
    found = sorted(
        str(path.relative_to(ROOT)) for folder in candidates for path in folder.glob("Dockerfile*")
    )
    assert found == DOCKERFILES == ["Dockerfile"], "the images share the root Dockerfile"


def test_the_processes_of_a_service_share_one_image_built_one_way() -> None:
    by_package: dict[str, set[str]] = {}
    for name in BUILT:
        by_package.setdefault(processes()[name].package, set()).add(image_name(name))
    several = {package: names for package, names in by_package.items() if len(names) > 1}
    assert not several, f"one image per service: {several}"
    for image in images().values():
        first, *others = image.services
        differing = [name for name in others if build_of(name) != build_of(first)]
        assert not differing, f"{image.name}: {differing} build it unlike {first}"
        packages = {processes()[name].package for name in image.services}
        assert len(packages) == 1, f"{image.name} serves {packages}"


def test_images_named_in_the_file_are_built_here_never_pulled() -> None:
    for name in BUILT:
        if "image" in SERVICES[name]:
            assert SERVICES[name].get("pull_policy") == "build", (
                f"{name}: without pull_policy: build, Compose looks {SERVICES[name]['image']} up "
                "on a registry before building it"
            )


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_gives_the_dockerfile_exactly_the_build_args_it_declares(image: str) -> None:
    built_image = images()[image]
    declared = declared_args(read_dockerfile(built_image.dockerfile))
    required = {name for name, default in declared.items() if not default}
    given = built_image.args.keys()
    assert required <= given, f"{image}: no {sorted(required - given)}"
    # Docker only warns about an arg no ARG declares, and builds without it.
    assert given <= declared.keys(), f"{image}: {sorted(given - declared.keys())} are no ARG"


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_installs_the_workspace_member_its_build_args_name(image: str) -> None:
    built_image = images()[image]
    package, folder = built_image.args["PACKAGE"], built_image.args["PACKAGE_DIR"]
    members = workspace_members()
    assert package in members, f"PACKAGE={package} is not one of {sorted(members)}"
    assert Path(folder) == members[package], (
        f"PACKAGE_DIR={folder}; {package} is in {members[package]}"
    )
    assert (ROOT / folder / "pyproject.toml").is_file()
    assert installed_package(built_image) == package


@pytest.mark.parametrize("name", BUILT)
def test_each_service_runs_code_its_image_installs(name: str) -> None:
    process = processes()[name]
    package = installed_package(images()[image_name(name)])
    modules = {member.replace("-", "_") for member in workspace_closure(package)}
    assert process.package in modules, f"{name} runs {process.module}; the image has {modules}"


# === The Dockerfile ===============================================================================


@pytest.mark.skipif(not SHELL.is_file(), reason="runs the Dockerfile's check with /bin/sh")
@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_a_build_without_a_required_arg_stops_first_and_says_which(
    dockerfile: str, tmp_path: Path
) -> None:
    instructions = read_dockerfile(ROOT / dockerfile)
    required = sorted(name for name, default in declared_args(instructions).items() if not default)
    # Without a default: a build that forgets one must stop, not install some other member.
    assert {"PACKAGE", "PACKAGE_DIR"} <= set(required), f"required build args: {required}"
    # Values of a real build, so that the check passes when it should.
    values = next(
        image.args for image in images().values() if image.dockerfile == ROOT / dockerfile
    )
    for name in required:
        users = [
            instruction
            for instruction in instructions
            if instruction.op != "ARG" and _references(name).search(instruction.arguments)
        ]
        assert users, f"ARG {name} is never used"
        check = users[0]
        assert check.op == "RUN", f"{name} is used by {check.op} before any RUN checks it is set"
        assert not check.arguments.startswith("["), "a shell-form RUN"
        for without in ({**values, name: ""}, {k: v for k, v in values.items() if k != name}):
            status, output = run_shell(check.arguments, without, tmp_path)
            stops = f"{name} unset: `RUN {check.arguments}` should stop, saying --build-arg {name}="
            assert status != 0, f"{stops}; it goes on"
            assert f"--build-arg {name}=" in output, f"{stops}; it says {output!r}"
        status, output = run_shell(check.arguments, values, tmp_path)
        assert status == 0, f"the check fails with {values}: {output!r}"


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_copies_its_package_and_the_workspace_members_it_depends_on(image: str) -> None:
    built_image = images()[image]
    copied = {source for _, source in copied_from_context(built(built_image))}
    members = workspace_members()
    needed = {str(members[name]) for name in workspace_closure(installed_package(built_image))}
    assert needed <= copied, f"not copied: {sorted(needed - copied)}"
    assert {"pyproject.toml", "uv.lock"} <= copied


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_installs_the_locked_dependencies_before_copying_sources(image: str) -> None:
    instructions = built(images()[image])
    syncs = uv_syncs(instructions)
    assert len(syncs) >= 2, "a dependencies layer, then a sources layer"
    for _, arguments in syncs:
        assert "--frozen" in arguments, arguments
        assert "--no-dev" in arguments, arguments
        assert re.search(r"--mount=type=cache,\S*target=/root/\.cache/uv\b", arguments), arguments
    first, last = syncs[0], syncs[-1]
    assert "--no-install-workspace" in first[1]
    assert "--no-install-workspace" not in last[1]
    # The runtime stage gets the virtual environment only: an editable install would point at
    # sources it does not have.
    assert "--no-editable" in last[1]
    sources = {str(folder) for folder in workspace_members().values()}
    copies_of_sources = [
        position for position, source in copied_from_context(instructions) if source in sources
    ]
    assert copies_of_sources, "no workspace sources copied"
    assert first[0] < min(copies_of_sources), "dependencies first, then sources"
    assert max(copies_of_sources) < last[0], "the last uv sync installs the sources"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_the_dockerfile_installs_the_uv_the_makefile_pins_and_never_downloads_python(
    dockerfile: str,
) -> None:
    text = (ROOT / dockerfile).read_text(encoding="utf-8")
    pinned = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", MAKEFILE.read_text(encoding="utf-8"), re.M)
    assert pinned is not None, "the Makefile no longer pins UV_VERSION"
    assert re.search(rf"pip install .*\buv=={re.escape(pinned[1])}\b", text)
    assert re.search(r"\bUV_PYTHON_DOWNLOADS=never\b", text)
    assert re.search(r"\bUV_COMPILE_BYTECODE=1\b", text)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_the_image_runs_as_an_unprivileged_user_from_the_build_stage_environment(
    dockerfile: str,
) -> None:
    instructions = read_dockerfile(ROOT / dockerfile)
    bases = {
        instruction.arguments.split()[0] for instruction in instructions if instruction.op == "FROM"
    }
    # The virtual environment's interpreter is a link to the base image's: one base for all stages.
    assert len(bases) == 1, bases
    version = re.fullmatch(r"python:(\d+)\.(\d+)-slim", bases.pop())
    assert version is not None, "python:X.Y-slim"
    requires = read_toml(ROOT / "pyproject.toml")["project"]["requires-python"]
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


# === Build context ================================================================================


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    for path in [".git", ".venv", ".tools", "data", ".env", "services/households/.venv",
                 "libs/kit/src/kit/__pycache__/db.cpython-311.pyc", ".pytest_cache"]:  # fmt: skip
        assert ignored_by_docker(path), f"{path} would be sent to the Docker daemon"


def test_the_build_context_keeps_everything_the_images_copy() -> None:
    wanted = set()
    for image in images().values():
        for _, source in copied_from_context(built(image)):
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
