"""The benchmark suite runs end to end at a small size, so that its harness cannot rot.

Its figures are printed (`pytest -s` shows them), never asserted: the targets live in the benchmark,
and timings on a shared machine are no test. What is checked: every P has a figure and the file is
written.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kit import testing

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
PHASES = {f"P{number}" for number in range(1, 9)}


def test_a_small_run_gives_a_figure_for_every_p_and_writes_the_file(tmp_path: Path) -> None:
    testing.require_infra()
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--households",
            "100",
            "--backlog",
            "100",
            "--out",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
            "--port",
            "18150",
            "--name",
            "bench_smoke",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(done.stdout)  # noqa: T201 - the figures, for whoever reads the test's output
    assert done.returncode == 0, done.stderr[-5000:]
    document = json.loads(out.read_text(encoding="utf-8"))
    assert {figure["p"] for figure in document["figures"]} == PHASES
    assert all(figure["n"] > 0 for figure in document["figures"])
    assert document["machine"]["cores"]
    assert out.with_suffix(".md").read_text(encoding="utf-8").count("| P") >= len(PHASES)
