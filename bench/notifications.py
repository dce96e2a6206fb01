"""`python -m bench.notifications`: the notifications service's fan-out and webhook delivery.

Not part of `python -m bench` (P1–P7): it runs the service's own code in one process against a
database of its own (PostgreSQL by default, `--sqlite` for the embedded default), with no broker:

- fan-out: one event matching 10,000 subscriptions (inbox channel), handled the way the
  consumer handles it (one transaction), timed from the message to the committed inbox items;
- webhooks: 100 endpoints on a local receiver, one of which never answers; events fanned out to
  all of them, then the delivery worker runs until every other endpoint has all its deliveries;
  deliveries per second over that time, and how long the hanging one held its slots.

    python -m bench.notifications                   # under a minute on 2 cores
    python -m bench.notifications --subscriptions 2000 --events 10
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import func
from sqlmodel import col, select

from bench.webhook_receiver import free_port
from kit import testing
from kit.contracts import Envelope
from kit.contracts.households import ProvinceApprovedV1
from kit.db import insert_for, make_engine, make_sessionmaker, table_of, utc_now
from kit.logging import configure_logging
from kit.messaging import IncomingMessage
from notifications.config import Settings
from notifications.delivery.models import Delivery
from notifications.delivery.worker import DeliveryWorker
from notifications.handlers import consumer
from notifications.inbox.models import InboxItem
from notifications.models import metadata
from notifications.subscription.models import Subscription, SubscriptionEventType

EVENT_TYPE = ProvinceApprovedV1.TYPE


def _message(province: str = "25") -> IncomingMessage:
    event = ProvinceApprovedV1(
        round_id=uuid4(), province_code=province, communes=36, actor="user:admin", at=utc_now()
    )
    envelope = Envelope.wrap(event, producer="bench", subject=str(uuid4()), sequence=1)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


async def _subscriptions(sessionmaker: Any, rows: list[dict[str, Any]]) -> None:
    async with sessionmaker() as session, session.begin():
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            await session.exec(insert_for(session, table_of(Subscription)), params=chunk)
            types = [{"subscription_id": row["id"], "event_type": EVENT_TYPE} for row in chunk]
            await session.exec(insert_for(session, table_of(SubscriptionEventType)), params=types)


def _subscription(n: int, *, channels: list[str], url: str | None = None) -> dict[str, Any]:
    now = utc_now()
    return {
        "id": uuid4(),
        "owner_subject": f"user:bench-{n}",
        "owner_role": "province_officer",
        "owner_units": ["25"],
        "description": None,
        "unit_code": "25",
        "channels": channels,
        "digest": "immediate",
        "threshold_field": None,
        "threshold_at_least": None,
        "threshold_at_most": None,
        "email_address": None,
        "language": "vi",
        "webhook_url": url,
        "webhook_secret": "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
        if url
        else None,
        "webhook_previous_secret": None,
        "webhook_previous_secret_until": None,
        "webhook_failed_deliveries": 0,
        "webhook_disabled_at": None,
        "status": "active",
        "suspended_reason": None,
        "created_at": now,
        "updated_at": now,
    }


async def fan_out(url: str, subscriptions: int) -> dict[str, float]:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessionmaker = make_sessionmaker(engine)
    try:
        rows = [_subscription(n, channels=["inbox"]) for n in range(subscriptions)]
        await _subscriptions(sessionmaker, rows)
        handle = consumer(sessionmaker)
        started, cpu = time.perf_counter(), time.process_time()
        await handle(_message())
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        async with sessionmaker() as session:
            items = (await session.exec(select(func.count()).select_from(InboxItem))).one()
        assert items == subscriptions, (items, subscriptions)
        return {
            "subscriptions": subscriptions,
            "seconds": round(seconds, 3),
            # This process's CPU time: on a shared machine, wall time includes waiting for a core.
            "cpu_seconds": round(cpu_seconds, 3),
        }
    finally:
        await engine.dispose()


async def webhooks(url: str, endpoints: int, events: int) -> dict[str, Any]:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessionmaker = make_sessionmaker(engine)
    settings = Settings(
        DATABASE_URL=url,
        WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"],
        WEBHOOK_READ_TIMEOUT_SECONDS=2.0,
        DELIVERY_CONCURRENCY=64,
        DELIVERY_POLL_SECONDS=0.05,
    )
    port = free_port()
    # The receiver in a process of its own: the CPU time measured is the worker's.
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.webhook_receiver", str(port), "/e0",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _wait_for_port(port)
        rows = [
            _subscription(n, channels=["webhook"], url=f"http://127.0.0.1:{port}/e{n}")
            for n in range(endpoints)
        ]
        await _subscriptions(sessionmaker, rows)
        handle = consumer(sessionmaker)
        for _ in range(events):
            await handle(_message())
        expected = (endpoints - 1) * events  # every endpoint's but the hanging one's
        worker = DeliveryWorker(sessionmaker, settings)
        started, cpu = time.perf_counter(), time.process_time()
        running = asyncio.create_task(worker.run())
        while await _delivered(sessionmaker) < expected:  # noqa: ASYNC110 - the database tells
            await asyncio.sleep(0.2)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        async with sessionmaker() as session:
            statuses = (
                await session.exec(select(Delivery.status, func.count()).group_by(Delivery.status))
            ).all()
        return {
            "endpoints": endpoints,
            "events": events,
            "delivered": expected,
            "seconds": round(seconds, 3),
            "per_second": round(expected / seconds, 1),
            "worker_cpu_seconds": round(cpu_seconds, 3),
            "per_worker_cpu_second": round(expected / cpu_seconds, 1),
            # The hanging endpoint's deliveries: timed out, waiting for their retry.
            "statuses": {status: count for status, count in statuses},
        }
    finally:
        receiver.kill()  # its hanging request would hold up a graceful stop
        await receiver.wait()
        await engine.dispose()


async def _delivered(sessionmaker: Any) -> int:
    async with sessionmaker() as session:
        statement = select(func.count()).where(col(Delivery.status) == "delivered")
        return int((await session.exec(statement)).one())


async def _wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise RuntimeError(f"the receiver did not start on port {port}")


async def main(arguments: argparse.Namespace) -> dict[str, Any]:
    async def database() -> str:
        if arguments.sqlite:
            folder = Path(arguments.sqlite)
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{folder / f'bench-{uuid4().hex[:8]}.db'}"
        return await testing.create_database("bench_notifications")

    results: dict[str, Any] = {}
    for name in ("fan_out", "webhooks"):
        url = await database()
        try:
            if name == "fan_out":
                results[name] = await fan_out(url, arguments.subscriptions)
            else:
                results[name] = await webhooks(url, arguments.endpoints, arguments.events)
        finally:
            if not arguments.sqlite:
                await testing.drop_database(url)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--sqlite", metavar="FOLDER", help="SQLite files in FOLDER instead")
    arguments = parser.parse_args()
    # As deployed: JSON lines, warnings and up (a success per delivery is a debug line).
    configure_logging(Settings(LOG_LEVEL="WARNING"))
    print(json.dumps(asyncio.run(main(arguments)), indent=2))  # noqa: T201
