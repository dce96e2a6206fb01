"""The newcomer's path: `make run`'s platform, stopped twice during its demo load as a newcomer
pressing Ctrl-C would, started again, then the README's walk-through run exactly as written.

The platform is the one `make run` starts (`python -m launcher.embedded`), on a free port and a
data folder of its own, with a smaller demo. The walk-through's commands are read from the
README's "Walk-through" section and run in order by bash; the only change is the port.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO_HOUSEHOLDS = 300  # two or three in each of Vĩnh Phúc's 121 communes
START_SECONDS = 120
LOAD_SECONDS = 600
STEP = "@@step"


# --- The README's walk-through ------------------------------------------------------------------


def walk_through() -> list[str]:
    """The commands of the README's walk-through, in order: its `sh` blocks, split into
    commands (a line, with its `\\` continuations or its here-document)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Walk-through", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        lines = block.splitlines()
        while lines:
            command = [lines.pop(0)]
            if not command[0].strip() or command[0].lstrip().startswith("#"):
                continue
            while command[-1].endswith("\\"):
                command.append(lines.pop(0))
            heredoc = re.search(r"<<'?(\w+)'?", command[-1])
            if heredoc:
                while command[-1] != heredoc.group(1):
                    command.append(lines.pop(0))
            commands.append("\n".join(command))
    return commands


@dataclass
class Ran:
    command: str
    status: int
    output: str

    def json(self) -> Any:
        return json.loads(self.output)


def run_walk_through(commands: list[str], port: int, workdir: Path) -> list[Ran]:
    """Run the commands in one bash, in order, each one's output and status kept apart."""
    script = ["set -o pipefail"]
    for command in commands:
        script += [f"echo {STEP}", command.replace("localhost:8000", f"localhost:{port}")]
        script.append(f"status=$?; echo; echo {STEP} $status")
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    parts = done.stdout.split(f"{STEP}\n")[1:]
    ran = []
    for command, part in zip(commands, parts, strict=True):
        output, status = part.rsplit(f"\n{STEP} ", 1)
        ran.append(Ran(command, int(status.split()[0]), output.strip()))
    assert len(ran) == len(commands), done.stderr
    return ran


def test_the_walk_through_is_read_from_the_readme() -> None:
    commands = walk_through()

    assert len(commands) == 31
    assert commands[0].startswith("TOKEN=$(curl -s localhost:8000/api/v1/auth/token")
    assert commands[5].startswith("cat > survey.json <<'JSON'\n")
    assert commands[5].endswith("\nJSON")
    assert commands[7].startswith("cat > offline.json <<'JSON'\n")
    assert "?map=2026-01-01" in commands[-1]


# --- The platform as `make run` starts it -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
        return port


class Embedded:
    """`python -m launcher.embedded` on a data folder, its output in a log file."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir, self.port = data_dir, port
        self.log = data_dir.parent / f"{data_dir.name}-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "launcher.embedded",
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    str(self.port),
                    "--demo-households",
                    str(DEMO_HOUSEHOLDS),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ | {"PYTHONUNBUFFERED": "1"},
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output():
            assert self.process is not None
            assert self.process.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, f"no {text!r} in {seconds} s"
            time.sleep(0.2)

    def interrupt(self) -> int:
        """Ctrl-C: the platform must stop by itself, promptly; its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"Ctrl-C did not stop the platform:\n{self.output()[-3000:]}")


class Client:
    """A demo user of the platform over HTTP, as curl would be."""

    def __init__(self, port: int, username: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.token: str | None = None
        login = {"grant_type": "password", "username": username, "password": f"{username}-demo"}
        answer = self.call("/api/v1/auth/token", data=urllib.parse.urlencode(login).encode())
        self.token = answer["access_token"]

    def call(self, path: str, data: bytes | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def round_id(self, year: int) -> str:
        [review_round] = self.call(f"/api/v1/rounds?year={year}")["items"]
        return str(review_round["id"])

    def surveyed(self, round_id: str, unit: str) -> int:
        try:
            figures = self.call(f"/api/v1/figures/{round_id}/{unit}")
        except urllib.error.HTTPError:
            return 0
        return int(figures["total"]["households"]["surveyed"])


def eventually(check: Any, seconds: float = LOAD_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(1)


@pytest.fixture(scope="module")
def restarted_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    """The platform after two starts stopped by Ctrl-C during the demo load, started a third
    time and left to finish the load and classify it all."""
    data_dir = tmp_path_factory.mktemp("newcomer") / "data"
    first = Embedded(data_dir, free_port())
    first.start()
    first.wait_for("demo.loading", START_SECONDS)  # the first households are in
    assert first.interrupt() == 0
    second = Embedded(data_dir, first.port)
    second.start()
    second.wait_for("Platform ready", START_SECONDS)
    time.sleep(3)  # the load under way again (somewhere in its stages)
    assert second.interrupt() == 0
    third = Embedded(data_dir, first.port)
    third.start()
    try:
        third.wait_for("demo.loaded", LOAD_SECONDS)
        admin = Client(third.port, "admin")
        for year, unit in [(2024, "26"), (2026, "25")]:
            round_id = admin.round_id(year)
            total = admin.call(f"/api/v1/assessments?round_id={round_id}&limit=1")["total"]
            eventually(lambda r=round_id, u=unit, t=total: admin.surveyed(r, u) == t)
        yield third
    finally:
        if third.process is not None and third.process.poll() is None:
            third.interrupt()


def test_a_demo_load_stopped_twice_is_completed_by_the_next_start(
    restarted_demo: Embedded,
) -> None:
    admin = Client(restarted_demo.port, "admin")
    old_round, new_round = admin.round_id(2024), admin.round_id(2026)
    approval = admin.call(f"/api/v1/rounds/{old_round}/provinces/26/approval")
    surveyed_2026 = admin.call(f"/api/v1/assessments?round_id={new_round}&limit=1")["total"]

    assert admin.surveyed(old_round, "26") == DEMO_HOUSEHOLDS
    assert approval["approved"] is True
    assert len(approval["communes"]) == 121
    assert {commune["state"] for commune in approval["communes"]} == {"approved"}
    assert admin.call("/api/v1/households?unit_code=25&limit=1")["total"] == DEMO_HOUSEHOLDS
    assert 0 < surveyed_2026 < DEMO_HOUSEHOLDS
    assert admin.surveyed(new_round, "25") == surveyed_2026


def test_the_readme_walk_through_works_as_written(restarted_demo: Embedded, tmp_path: Path) -> None:
    admin = Client(restarted_demo.port, "admin")
    old_round, new_round = admin.round_id(2024), admin.round_id(2026)
    before = admin.surveyed(new_round, "25")

    ran = run_walk_through(walk_through(), restarted_demo.port, tmp_path)

    failed = [(step.command, step.status, step.output) for step in ran if step.status]
    assert not failed
    households, survey = ran[3].json(), ran[6].json()
    assert households["total"] > 0
    assert {(h["province_code"], h["commune_code"]) for h in households["items"]} == {
        ("25", "08707")
    }
    assert (survey["round_id"], survey["commune_code"], survey["version"]) == (
        new_round,
        "08707",
        1,
    )
    # Leave no one behind: the two offline households on the list, one given a smartphone and
    # gone from it, the other exported for the team's visit.
    assert ran[10].output.split() == ["201", "201"]
    waiting = ran[12].json()
    assert waiting["total"] == 2
    assert {frozenset(h["deprived_indicators"]) for h in waiting["items"]} == {
        frozenset({"telecom_use", "information_devices"})
    }
    supported, remaining = (h["household_code"] for h in waiting["items"])
    support = ran[15].json()
    assert (support["household_code"], support["kind"], support["device"]) == (
        supported,
        "device_given",
        "smartphone",
    )
    assert ran[17].output == f"1 ['{remaining}']"
    workbook = openpyxl.load_workbook(tmp_path / "left-behind.xlsx", read_only=True)
    cells = {str(v) for row in workbook.active.iter_rows(values_only=True) for v in row if v}
    assert remaining in cells
    assert supported not in cells
    states = [ran[index].json()["state"] for index in (20, 22, 23, 24)]
    assert states == ["surveyed", "posted", "approved", "approved"]
    assert [a["agreeing"] for a in ran[21].json()["agreements"]] == [37, 38, 36]
    # The province officer: the province's 2026 figures (the officer's three surveys classified or
    # about to be), then the 2024 figures restated onto today's map.
    figures_2026 = ran[29].json()
    assert before <= figures_2026["surveyed"] <= before + 3
    assert figures_2026["resident"] is not None
    restated = ran[30]
    assert "/api/v1/figures/$ROUND_2024/25?map=2026-01-01" in restated.command
    # Every 2024 household of Vĩnh Phúc, counted in Phú Thọ on today's map.
    assert restated.json()["surveyed"] == admin.surveyed(old_round, "26") == DEMO_HOUSEHOLDS
