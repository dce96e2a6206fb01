"""`python -m tests.faults.soak`: a long run at a moderate mixed load with periodic faults.

    python -m tests.faults.soak                        # 30 minutes, a fault every 2 minutes
    python -m tests.faults.soak --minutes 3 --fault-every 60

Surveys through the gateway (the load of the fault matrix, with its ledger) and reads of figures
and households beside them, on the throwaway servers; every `--fault-every` seconds one fault of
the matrix, in turn. Every `--sample-every` seconds the resident memory, open file descriptors
and open TCP sockets of each process are sampled from /proc; at the end the growth of each from
the first quarter of the run to the last is reported, with the ledger's figures.
"""

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: `support`, `faults`

from support.load import COMMUNES, SurveyLoad
from support.platform_api import Api, PasswordLogin, eventually

from faults.matrix import FAULTS, RECONCILIATIONS, SHORT, Platform


def sample(pid: int) -> tuple[int, int, int]:
    """Resident memory (KiB), open file descriptors and open sockets of process `pid`."""
    rss = 0
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    descriptors = sockets = 0
    with contextlib.suppress(OSError):
        for name in os.listdir(f"/proc/{pid}/fd"):
            descriptors += 1
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    sockets += 1
    return rss, descriptors, sockets


async def reads(api: Api, round_: dict[str, object], stop: asyncio.Event) -> int:
    done = 0
    while not stop.is_set():
        for commune in COMMUNES:
            with contextlib.suppress(httpx.HTTPError):
                await api.client.get(f"/api/v1/figures/{round_['id']}/{commune}", timeout=10)
                await api.client.get("/api/v1/households", params={"limit": 20}, timeout=10)
                done += 2
        await asyncio.sleep(0.2)
    return done


async def soak(minutes: float, fault_every: float, sample_every: float, seed: int) -> int:
    chance = random.Random(seed)
    samples: dict[str, list[tuple[float, int, int, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        async with Platform(Path(folder), base_port=26400) as platform:
            login = PasswordLogin(platform.stack.admin_username, platform.stack.admin_password)
            async with httpx.AsyncClient(
                base_url=platform.stack.gateway_url, timeout=30, auth=login
            ) as client:
                api = Api(client)
                round_ = await api.open_round()
                load = await SurveyLoad.prepared(api, round_, households=40, writers=2, tag="SOAK")
                load.start()
                stop_reads = asyncio.Event()
                reading = asyncio.create_task(reads(api, round_, stop_reads))
                started = time.monotonic()
                end = started + minutes * 60
                next_fault = started + fault_every
                faults = itertools.cycle(SHORT)
                injected: list[str] = []
                while time.monotonic() < end:
                    now = time.monotonic()
                    for name, process in platform.stack.running.items():
                        rss, fds, sockets = sample(process.pid)
                        samples.setdefault(name, []).append((now - started, rss, fds, sockets))
                    if now >= next_fault:
                        name = next(faults)
                        injected.append(name)
                        await FAULTS[name](platform, chance)
                        next_fault = time.monotonic() + fault_every
                    await asyncio.sleep(sample_every)
                ledger = await load.stop()
                stop_reads.set()
                read_count = await reading

                async def matching() -> bool:
                    response = await api.client.post(
                        RECONCILIATIONS, json={"round_id": round_["id"]}
                    )
                    return response.status_code == 200 and bool(response.json()["matching"])

                await eventually(matching, within=300)
                lost = 0
                for household in load.households:
                    held = await load.current_version(household["id"]) or 0
                    if held < max(ledger.acknowledged.get(household["id"], [0])):
                        lost += 1
    print(  # noqa: T201 - the report
        f"\nSoak: {minutes:g} min, {ledger.writes} writes acknowledged, {read_count} reads, "
        f"{sum(ledger.unanswered.values())} unanswered, refused {ledger.refused}, "
        f"lost {lost}, duplicated versions {ledger.duplicated_versions()}; "
        f"faults: {', '.join(injected) or 'none'}\n"
    )
    print(  # noqa: T201
        "| process | RSS MiB first quarter → last | open fds | open sockets |\n|---|---|---|---|"
    )
    for name, rows in sorted(samples.items()):
        quarter = max(1, len(rows) // 4)
        first, last = rows[:quarter], rows[-quarter:]

        def mean(part: list[tuple[float, int, int, int]], column: int) -> float:
            return statistics.fmean(row[column] for row in part)

        print(  # noqa: T201
            f"| {name} | {mean(first, 1) / 1024:.0f} → {mean(last, 1) / 1024:.0f} | "
            f"{mean(first, 2):.0f} → {mean(last, 2):.0f} | "
            f"{mean(first, 3):.0f} → {mean(last, 3):.0f} |"
        )
    return 0 if lost == 0 and ledger.duplicated_versions() == 0 else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--fault-every", type=float, default=120, help="seconds")
    parser.add_argument("--sample-every", type=float, default=5, help="seconds")
    parser.add_argument("--seed", type=int, default=15)
    arguments = parser.parse_args()
    sys.exit(
        asyncio.run(
            soak(arguments.minutes, arguments.fault_every, arguments.sample_every, arguments.seed)
        )
    )


if __name__ == "__main__":
    main()
