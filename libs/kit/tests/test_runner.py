"""`kit.runner.run`: the long-running processes' garbage collection (in a child process of its
own: freezing the test process's objects would keep the whole suite's garbage)."""

import json
import subprocess
import sys

from kit.runner import YOUNG_GARBAGE_THRESHOLD

PROCESS = """
import gc, json
from kit import runner
from kit.settings import ServiceSettings

seen = {}

async def main():
    seen["frozen"] = gc.get_freeze_count()
    seen["threshold"] = gc.get_threshold()

print(json.dumps({"before": gc.get_threshold()}))
settings = ServiceSettings(SERVICE_NAME="gc-test", DATABASE_URL="sqlite+aiosqlite://")
runner.run(settings, main)
print(json.dumps(seen))
"""


def test_a_process_run_by_the_runner_freezes_its_start_and_collects_young_garbage_rarely() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROCESS], capture_output=True, text=True, timeout=100, check=True
    )
    before, seen = (json.loads(line) for line in done.stdout.splitlines()[-2:])

    assert before["before"][0] == 700  # Python's default, which the runner replaces
    assert seen["threshold"][0] == YOUNG_GARBAGE_THRESHOLD
    assert seen["threshold"][1:] == before["before"][1:]
    assert seen["frozen"] > 10_000  # the modules and schemas it imported to start
