"""The fault matrix: the distributed processes on throwaway PostgreSQL and RabbitMQ, a steady survey
load through the gateway with a ledger, and faults injected at random moments.

For each fault, a round of its own: the load runs, the fault is injected `runs` times (each time
the platform must answer writes and report every process ready again: the time to reconnect),
then the load stops and the platform must catch up (the indicators' copy reconciles with the
households service's ledger: the time to catch up). The ledger then says what was lost (an
acknowledged version the households service no longer holds), duplicated (one version
acknowledged twice, or a household counted twice in the figures) or unexpected (a version no
write asked for), and a full recalculation must leave every figure as it is.
"""

import asyncio
import json
import os
import random
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from support.load import COMMUNES, SurveyLoad
from support.platform_api import Api, PasswordLogin, eventually

from faults.infra import ThrowawayPostgres, ThrowawayRabbitMQ
from kit.messaging.topology import EVENTS_EXCHANGE
from kit.testing import TcpProxy
from launcher.distributed import DistributedStack, StackConfig

RECONCILIATIONS = "/api/v1/admin/indicators/reconciliations"
RECONNECT_TARGET_SECONDS = 15.0


@dataclass
class FaultResult:
    fault: str
    runs: int
    acknowledged: int = 0
    unanswered: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    lost: int = 0
    duplicates: int = 0
    unexpected: int = 0
    reconnect_seconds: list[float] = field(default_factory=list)
    catch_up_seconds: float = 0.0
    recalculation_unchanged: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicates == 0
            and self.unexpected == 0
            and self.recalculation_unchanged
            and max(self.reconnect_seconds, default=0) <= RECONNECT_TARGET_SECONDS
        )

    def row(self) -> str:
        reconnect = self.reconnect_seconds or [0.0]
        return (
            f"| {self.fault} | {self.runs} | {self.acknowledged} | {self.unanswered} | "
            f"{self.lost} | {self.duplicates} | {self.unexpected} | "
            f"{statistics.median(reconnect):.1f} / {max(reconnect):.1f} | "
            f"{self.catch_up_seconds:.1f} | {'yes' if self.recalculation_unchanged else 'NO'} |"
        )


class Platform:
    """The throwaway servers, the proxy to the broker, and the stack started on them."""

    # Below Linux's range of ephemeral ports (32768–60999): a listener there can find its port
    # taken by an outgoing connection's local end (seen: a service of the stack failing to start
    # with "address already in use" on 35502).
    def __init__(self, folder: Path, base_port: int = 25400) -> None:
        self.folder = folder
        self.postgres = ThrowawayPostgres(folder / "postgres", base_port)
        self.rabbitmq = ThrowawayRabbitMQ(folder / "rabbitmq", base_port + 10)
        self.proxy = TcpProxy(base_port + 20, base_port + 10)
        self.stack = DistributedStack(
            StackConfig(
                postgres_url=self.postgres.url,
                rabbitmq_url=f"amqp://guest:guest@127.0.0.1:{base_port + 20}/",
                gateway_port=base_port + 100,
                first_service_port=base_port + 101,
                first_metrics_port=base_port + 200,
                log_dir=folder / "logs",
                state_dir=folder / "state",
                admin_password="faults-first-admin",
                extra_environment={
                    "LOG_LEVEL": "WARNING",
                    "RELAY_POLL_SECONDS": "0.05",
                    # One caller sends the whole load: the gateway's per-caller limit (20/s)
                    # would refuse most of it and the ledger would measure nothing.
                    "RATE_LIMIT_PER_SECOND": "10000",
                    "RATE_LIMIT_BURST": "10000",
                },
            )
        )

    async def __aenter__(self) -> "Platform":
        try:
            await self._start()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def _start(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.rabbitmq.init()
        self.rabbitmq.start()
        await self.postgres.wait_ready()
        await self.rabbitmq.wait_ready()
        await self.proxy.start()
        await self.stack.create_databases()
        self.stack.migrate()
        self.stack.start()
        await self.stack.wait_healthy(within=180)

    async def __aexit__(self, *_: object) -> None:
        self.stack.stop()
        await self.proxy.close()
        self.rabbitmq.destroy()
        self.postgres.destroy()

    def kill(self, name: str) -> None:
        process = self.stack.running.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    async def all_ready(self) -> bool:
        return not await self.not_ready()

    async def not_ready(self) -> list[str]:
        """The processes whose `/health/ready` does not answer 200, with what they said."""
        unready = []
        async with httpx.AsyncClient(timeout=3) as client:
            for name in self.stack.running:
                try:
                    response = await client.get(f"{self.stack.metrics_url_of(name)}/health/ready")
                except httpx.HTTPError as error:
                    unready.append(f"{name}: {error!r}")
                    continue
                if response.status_code != 200:
                    unready.append(f"{name}: {response.status_code} {response.text[:300]}")
        return unready


Fault = Callable[[Platform, random.Random], Awaitable[None]]


async def broker_killed(platform: Platform, chance: random.Random) -> None:
    platform.rabbitmq.kill()
    await asyncio.sleep(chance.uniform(0.5, 3))
    platform.rabbitmq.start()
    await platform.rabbitmq.wait_ready()


async def broker_paused(platform: Platform, chance: random.Random) -> None:
    platform.rabbitmq.pause()
    await asyncio.sleep(chance.uniform(12, 16))  # past two heartbeats of 5 s
    platform.rabbitmq.resume()


async def postgres_restarted(platform: Platform, chance: random.Random) -> None:
    await asyncio.to_thread(platform.postgres.restart)


async def network_cut(platform: Platform, chance: random.Random) -> None:
    platform.proxy.cut()
    await asyncio.sleep(chance.uniform(1, 6))
    platform.proxy.restore()


def process_killed(name: str) -> Fault:
    async def kill(platform: Platform, chance: random.Random) -> None:
        platform.kill(name)
        await asyncio.sleep(chance.uniform(0, 2))
        platform.stack.start([name])

    return kill


async def messages_duplicated_reordered_and_poisoned(
    platform: Platform, chance: random.Random
) -> None:
    """Publish again, out of order, events the households service already published, and one
    message no consumer can read."""
    import asyncpg

    url = platform.stack.database_url("households").replace("+asyncpg", "")
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT envelope FROM outbox_message WHERE published_at IS NOT NULL "
            "ORDER BY position DESC LIMIT 20"
        )
    finally:
        await connection.close()
    envelopes = [json.loads(row["envelope"]) for row in rows]
    chance.shuffle(envelopes)
    broker = await aio_pika.connect(platform.rabbitmq.url)
    async with broker:
        channel = await broker.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        for envelope in envelopes:
            body = json.dumps(envelope).encode()
            message = aio_pika.Message(body, message_id=envelope["id"], type=envelope["type"])
            await exchange.publish(message, routing_key=envelope["type"])
        poison = aio_pika.Message(
            b"{not json", message_id=str(uuid.uuid4()), type="households.assessment.recorded.v1"
        )
        await exchange.publish(poison, routing_key="households.assessment.recorded.v1")


FAULTS: dict[str, Fault] = {
    "rabbitmq SIGKILL + restart": broker_killed,
    "rabbitmq SIGSTOP/SIGCONT past the heartbeat": broker_paused,
    "postgresql restart (fast) under load": postgres_restarted,
    "network to the broker cut and restored": network_cut,
    "households-relay SIGKILL": process_killed("households-relay"),
    "indicators-relay SIGKILL": process_killed("indicators-relay"),
    "indicators-worker SIGKILL": process_killed("indicators-worker"),
    "notifications-worker SIGKILL": process_killed("notifications-worker"),
    "households-api SIGKILL mid-request": process_killed("households-api"),
    "gateway SIGKILL mid-request": process_killed("gateway"),
    "duplicated, reordered and poison messages": messages_duplicated_reordered_and_poisoned,
}
SHORT = (
    "rabbitmq SIGKILL + restart",
    "postgresql restart (fast) under load",
    "indicators-worker SIGKILL",
    "network to the broker cut and restored",
)


async def reconnect_time(platform: Platform, api: Api, load: SurveyLoad, since: float) -> float:
    """Seconds from the fault's end until a write is acknowledged, every process is ready and
    the figures reflect a survey written since: a consumer that is registered but applies
    nothing has not reconnected, however ready its process says it is."""
    acknowledged = load.ledger.writes
    ended = datetime.now(UTC)

    async def recovered() -> bool:
        return (
            load.ledger.writes > acknowledged
            and await platform.all_ready()
            and await figures_reflect_events_after(api, load.round, ended)
        )

    try:
        await eventually(recovered, within=120)
    except AssertionError:
        raise AssertionError(
            "not recovered within 120 s: writes acknowledged since "
            f"{load.ledger.writes - acknowledged}, not ready {await platform.not_ready()}, "
            "figures reflecting events after the fault "
            f"{await figures_reflect_events_after(api, load.round, ended)}"
        ) from None
    return time.monotonic() - since


async def figures_reflect_events_after(api: Api, round_: dict[str, Any], moment: datetime) -> bool:
    for commune in COMMUNES:
        try:
            figures = await api.figures(round_, commune)
        except httpx.HTTPError:
            return False  # the gateway is not back yet
        until = figures and figures["freshness"]["reflects_events_until"]
        if until and datetime.fromisoformat(until) > moment:
            return True
    return False


async def run_fault(
    platform: Platform, api: Api, name: str, runs: int, chance: random.Random
) -> FaultResult:
    fault = FAULTS[name]
    result = FaultResult(fault=name, runs=runs)
    round_ = await api.open_round()
    load = await SurveyLoad.prepared(
        api, round_, households=24, writers=3, tag=f"F{uuid.uuid4().hex[:6]}"
    )
    load.start()
    for _ in range(runs):
        await asyncio.sleep(chance.uniform(0.5, 3))  # a random moment of the load
        await fault(platform, chance)
        result.reconnect_seconds.append(await reconnect_time(platform, api, load, time.monotonic()))
    await asyncio.sleep(1)
    ledger = await load.stop()
    stopped = time.monotonic()

    async def matching() -> bool:
        response = await api.client.post(RECONCILIATIONS, json={"round_id": round_["id"]})
        return response.status_code == 200 and bool(response.json()["matching"])

    await eventually(matching, within=300)
    result.catch_up_seconds = time.monotonic() - stopped

    result.acknowledged = ledger.writes
    result.unanswered = sum(ledger.unanswered.values())
    result.refused = ledger.refused
    result.duplicates = ledger.duplicated_versions()
    for household in load.households:
        hid = household["id"]
        held = await load.current_version(hid) or 0
        acknowledged = max(ledger.acknowledged.get(hid, [0]))
        if held < acknowledged:
            result.lost += 1
        # Every version is one write: beyond the acknowledged ones only the unanswered may be.
        if held > acknowledged + ledger.unanswered.get(hid, 0):
            result.unexpected += 1
    before = {commune: await api.figures(round_, commune) for commune in COMMUNES}
    surveyed = sum(f["total"]["households"]["surveyed"] for f in before.values() if f)
    result.duplicates += max(0, surveyed - len(load.households))
    result.lost += max(0, len(load.households) - surveyed)
    job = await api.recalculate(round_)
    after = {commune: await api.figures(round_, commune) for commune in COMMUNES}
    result.recalculation_unchanged = job["status"] == "succeeded" and _without_times(
        before
    ) == _without_times(after)
    return result


def _without_times(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures without when they were computed and what they reflect, which a
    recalculation moves on."""
    return {
        unit: None if f is None else {k: v for k, v in f.items() if k not in ("as_of", "freshness")}
        for unit, f in figures.items()
    }


async def run_matrix(
    faults: list[str], runs: int, *, seed: int, folder: Path | None = None
) -> list[FaultResult]:
    chance = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="faults-") as temporary:
        async with Platform(folder or Path(temporary)) as platform:
            login = PasswordLogin(platform.stack.admin_username, platform.stack.admin_password)
            async with httpx.AsyncClient(
                base_url=platform.stack.gateway_url, timeout=30, auth=login
            ) as client:
                api = Api(client)
                results = []
                for name in faults:
                    results.append(await run_fault(platform, api, name, runs, chance))
                    print(results[-1].row(), flush=True)  # noqa: T201 - progress of a long run
                return results


TABLE_HEADER = (
    "| fault | runs | writes acknowledged | unanswered | lost | duplicates | unexpected | "
    "reconnect s (median / max) | catch-up s | recalculation unchanged |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def table(results: list[FaultResult]) -> str:
    return "\n".join([TABLE_HEADER, *(result.row() for result in results)])


def as_json(results: list[FaultResult]) -> str:
    return json.dumps([asdict(result) | {"ok": result.ok} for result in results], indent=2)
