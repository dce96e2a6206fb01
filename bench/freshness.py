"""P5: freshness. How long after a write commits its change shows in the unit's figures through
the API, under a steady background load of writes.

The probes write into a round of their own, in one commune, one household at a time: register, PUT
the survey (the answer comes after the commit), then read the commune's figures through the
gateway back to back until they count that household. The background writes go to P1's round, so
they load the same processes without moving the probe's counters. The resolution is one figures
read (a few ms). Beside it, the floor any event-carried update pays: one message through RabbitMQ
(publish with confirm, then delivery to a consumer) on the same broker.
"""

import asyncio
import time

import aio_pika
import httpx

from bench import data
from bench.context import Context
from bench.load import Recorder, percentile, steady
from bench.profile import profiled
from bench.report import Figure
from bench.writes import writer

TARGET_P50, TARGET_P99 = 20.0, 100.0  # issue 10, raised from 50 and 500 ms
PROBE_TIMEOUT = 60.0


async def run(context: Context) -> list[Figure]:
    platform, sizes = context.platform, context.sizes
    async with platform.client() as client:
        probe_round = await data.open_round(client)
        unit = context.units[0]
        items = data.households(
            [unit], sizes.probes, reference_date=probe_round.reference_date, seed=5, prefix="P5"
        )
        background_items = data.households(
            context.units,
            round(sizes.background_rate * (sizes.probes * 3 + 60)),
            reference_date=context.load_round.reference_date,
            seed=sizes.seed + 5,
            prefix="P5B",
        )
        stop = asyncio.Event()
        background = asyncio.create_task(
            steady(
                writer(client, context.load_round, background_items, context.households),
                rate=sizes.background_rate,
                stop=stop,
                requests_per_operation=2,
            )
        )
        try:
            await asyncio.sleep(1)  # the background load under way
            hop = await broker_hops(platform.stack.config.rabbitmq_url, max(10, sizes.probes))
            freshness: list[float] = []
            writes = Recorder()
            pids = {n: platform.pid_of(n) for n in ("indicators-worker", "households-relay")}
            with profiled(context.profile_dir, "P5", pids):
                for number, item in enumerate(items, start=1):
                    register = await client.post("/api/v1/households", json=data.registration(item))
                    register.raise_for_status()
                    path = f"/api/v1/households/{register.json()['id']}/assessments/"
                    sent = time.perf_counter()
                    answer = await client.put(path + probe_round.id, json=data.survey(item))
                    answer.raise_for_status()
                    committed = time.perf_counter()
                    writes.ok("survey", committed - sent)
                    figures_path = f"/api/v1/figures/{probe_round.id}/{unit.commune}"
                    freshness.append(await _until_counted(client, figures_path, number) - committed)
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            load = await background
    return figures(sorted(freshness), sorted(hop), load.achieved(), load.errors())


async def _until_counted(client: httpx.AsyncClient, path: str, surveyed: int) -> float:
    """The moment the figures at `path` first count `surveyed` households."""
    deadline = time.perf_counter() + PROBE_TIMEOUT
    while time.perf_counter() < deadline:
        response = await client.get(path)
        now = time.perf_counter()
        if response.status_code == 200:
            if response.json()["total"]["households"]["surveyed"] >= surveyed:
                return now
        elif response.status_code != 404:  # 404: the round or unit has no figures yet
            response.raise_for_status()
        await asyncio.sleep(0.002)
    raise TimeoutError(f"household {surveyed} of the probes not counted in {PROBE_TIMEOUT} s")


async def broker_hops(url: str, count: int) -> list[float]:
    """Seconds from publishing (confirmed, persistent) to delivery, one message at a time."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("", exclusive=True)
        hops = []
        async with queue.iterator() as messages:
            for _ in range(count):
                started = time.perf_counter()
                await channel.default_exchange.publish(
                    aio_pika.Message(b"probe", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=queue.name,
                )
                message = await anext(messages)
                await message.ack()
                hops.append(time.perf_counter() - started)
        return hops


def figures(
    freshness: list[float], hops: list[float], background: float, errors: int
) -> list[Figure]:
    hop50 = percentile(hops, 50) * 1000
    result = []
    for q, target in ((50, TARGET_P50), (95, None), (99, TARGET_P99)):
        value = percentile(freshness, q) * 1000
        result.append(
            Figure(
                "P5",
                f"freshness p{q}: write committed → in the unit's figures",
                value,
                "ms",
                len(freshness),
                reference="one message through RabbitMQ, p50",
                reference_value=hop50,
                ratio=value / hop50 if hop50 else None,
                target=f"≤ {target:.0f} ms" if target else "",
                met=value <= target if target else None,
                details={
                    "background_writes_per_second": round(background, 1),
                    "background_errors": errors,
                    "broker_hop_p99_ms": percentile(hops, 99) * 1000,
                },
            )
        )
    result[0].note = f"under {background:.0f} background writes/s"
    return result
