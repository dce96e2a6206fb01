"""wrk paced by `bench/paced.lua`: its report read, GETs of a list of paths, and writes that
register a household and then PUT its survey under the id the registration answered."""

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from bench import wrk


def test_the_report_is_read_into_counts_percentiles_and_cpu() -> None:
    report = {
        "requests": 1000,
        "duration_us": 2_000_000,
        "connect": 0,
        "read": 0,
        "write": 0,
        "status": 10,
        "timeout": 1,
        "late": 3,
        "p50_us": 1500.0,
        "p95_us": 9000.0,
        "p99_us": 20000.0,
        "max_us": 30000.0,
        "cpu_ticks": 20,
    }

    run = wrk.parsed(report, 500.0, 64)

    assert run.count() == 990  # the 10 answered with an error are not served
    assert run.errors() == 11
    assert run.achieved() == 495.0
    assert run.percentile(95) == 9.0
    assert run.late == 3
    assert run.statuses == {"wrk: status": 10, "wrk: timeout": 1}
    assert run.client_cpu_seconds > 0


class _Platform(BaseHTTPRequestHandler):
    """Answers as the gateway does: a registration with the household's code and id."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[Counter[str]] = Counter()
    surveyed: ClassVar[list[str]] = []
    authorised: ClassVar[Counter[str | None]] = Counter()  # the Authorization header of writes

    def _answer(self, status: int, body: dict[str, object]) -> None:
        out = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _read(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self) -> None:
        self.seen[self.path] += 1
        self._answer(200, {"ok": True})

    def do_POST(self) -> None:
        self.authorised[self.headers.get("Authorization")] += 1
        sent = json.loads(self._read())
        self.seen["POST"] += 1
        self._answer(201, {"household_code": sent["household_code"], "id": str(uuid.uuid4())})

    def do_PUT(self) -> None:
        self.authorised[self.headers.get("Authorization")] += 1
        assert self.headers.get("Content-Type") == "application/json"
        self._read()
        self.surveyed.append(self.path)
        self._answer(201, {"id": str(uuid.uuid4()), "household_id": self.path.split("/")[4]})

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    if not wrk.available():
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    _Platform.seen, _Platform.surveyed, _Platform.authorised = Counter(), [], Counter()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_gets_go_to_the_listed_paths_in_turn(server: str, tmp_path: Path) -> None:
    listed = tmp_path / "paths.txt"
    listed.write_text("/a\n/b\n", encoding="utf-8")

    run = asyncio.run(
        wrk.paced(server, rate=50, seconds=1, headers={}, connections=4, paths=listed)
    )

    assert run.errors() == 0
    assert run.count() > 0
    assert set(_Platform.seen) == {"/a", "/b"}
    assert abs(_Platform.seen["/a"] - _Platform.seen["/b"]) <= 1 + 4  # in turn, some in flight
    assert run.client_cpu_share() >= 0


def test_a_registered_household_gets_its_survey_under_the_id_answered(
    server: str, tmp_path: Path
) -> None:
    writes, ids = tmp_path / "writes.tsv", tmp_path / "ids.txt"
    with writes.open("w", encoding="utf-8") as out:
        for number in range(200):
            household = {"household_code": f"H{number}", "address": "a\tb"}  # a tab, escaped
            out.write(f"H{number}\t{json.dumps(household)}\t{json.dumps({'members': []})}\n")

    run = asyncio.run(
        wrk.paced(
            server,
            rate=40,
            seconds=1,
            headers={"Authorization": "Bearer token"},
            connections=4,
            writes=writes,
            round_id="R",
            ids=ids,
        )
    )

    registered = ids.read_text(encoding="utf-8").split()
    assert run.errors() == 0
    # A registration in flight when wrk stops reaches the server, but its answer is never read.
    assert 0 < len(registered) <= _Platform.seen["POST"] <= len(registered) + 4
    surveyed = [path.split("/")[4] for path in _Platform.surveyed]
    assert set(surveyed) <= set(registered)
    assert all(path.endswith("/assessments/R") for path in _Platform.surveyed)
    assert len(registered) - len(surveyed) <= 4 + 1  # the last few may be cut off by the end
    # wrk's -H headers go with every write, besides the body's Content-Type.
    assert set(_Platform.authorised) == {"Bearer token"}


@pytest.mark.parametrize(
    ("rate", "connections"), [(5, 12), (10, 25), (0.1, 1), (25.6, 64), (200, 64)]
)
def test_a_low_rate_uses_few_enough_connections_that_none_idles_past_the_keep_alive(
    rate: float, connections: int
) -> None:
    used = wrk.at_most_idle(64, rate)

    assert used == connections
    # Taking turns, each connection is used again every `used / rate` seconds.
    assert used == 1 or used / rate <= wrk.SERVER_KEEP_ALIVE_SECONDS / 2
