"""P4: the event pipeline, outbox → relay → RabbitMQ → indicators worker → applied aggregates.

With the households relay and the indicators worker stopped, `backlog` assessment events (of
synthetic households, as the households service builds them) are inserted into the households
outbox directly. Then both processes start and the clock runs until every household of the round is
classified and counted. Reported: events/s from the first to the last event applied, and the time
the whole backlog took from starting the processes (their start-up included). Beside it, the
relay's own pace: the same backlog published (confirmed by the broker) from the first to the last.
The 100,000-event drain time is reported only for a backlog of 100,000 (`--backlog 100000`):
never by proportion from a smaller one.
"""

import asyncio
import json
import time
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from bench import data
from bench.context import Context
from bench.profile import profiled
from bench.report import Figure, at_size
from households.household.events import PRODUCER
from kit.contracts import Envelope
from synthetic.events import assessment_recorded

TARGET_RATE = 1500.0
BACKLOG = 100_000
STOPPED = ("households-relay", "indicators-worker")


async def stage(context: Context, round_: data.Round, now: datetime) -> int:
    """Insert the backlog's assessment events into the households outbox, created `now`; how
    many."""
    paths = {unit.commune: unit.path for unit in context.units}
    rows = []
    for item in data.households(
        context.units,
        context.sizes.backlog,
        reference_date=round_.reference_date,
        seed=context.sizes.seed + 4,
        prefix="P4",
    ):
        event = assessment_recorded(
            item,
            reference_date=round_.reference_date,
            round_id=UUID(round_.id),
            unit_path=paths[item.household.commune_code],
        )
        envelope = Envelope.wrap(
            event, producer=PRODUCER, subject=str(event.assessment_id), sequence=1
        )
        document = json.dumps(envelope.model_dump(mode="json"), ensure_ascii=False)
        rows.append((envelope.id, envelope.type, document, now))
    connection = await context.platform.database("households")
    try:
        await connection.copy_records_to_table(
            "outbox_message", records=rows, columns=["id", "type", "envelope", "created_at"]
        )
    finally:
        await connection.close()
    return len(rows)


async def run(context: Context) -> list[Figure]:
    platform = context.platform
    async with platform.client() as client:
        round_ = await data.open_round(client)
    await platform.idle()
    platform.stop(*STOPPED)
    staged_at = datetime.now(UTC)
    try:
        staged = await stage(context, round_, staged_at)
    finally:
        started = time.perf_counter()
        platform.start(*STOPPED)
    with profiled(context.profile_dir, "P4", {name: platform.pid_of(name) for name in STOPPED}):
        relayed, applied = await _until_applied(context, round_.id, staged, started)
    return await figures(context, round_, staged_at, staged, (relayed, applied))


async def _until_applied(
    context: Context, round_id: str, staged: int, started: float
) -> tuple[float, float]:
    """Seconds from `started` until the relay had published everything, and until every event
    was applied."""
    households = await context.platform.database("households")
    indicators = await context.platform.database("indicators")
    relayed = None
    deadline = started + max(600.0, staged / 5)
    try:
        while time.perf_counter() < deadline:
            if relayed is None and not await households.fetchval(
                "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
            ):
                relayed = time.perf_counter() - started
            applied = await indicators.fetchval(
                "SELECT count(*) FROM household_classification WHERE round_id = $1",
                UUID(round_id),
            )
            if applied >= staged and relayed is not None:
                return relayed, time.perf_counter() - started
            # Counting a growing table costs the measured machine: look less often as the run
            # goes on, never more than 1 % late.
            await asyncio.sleep(min(2.0, max(0.25, (time.perf_counter() - started) / 100)))
    finally:
        await households.close()
        await indicators.close()
    raise TimeoutError(f"the backlog of {staged} events was not applied in time")


async def _span(connection: asyncpg.Connection, query: str, *arguments: object) -> float:
    row = await connection.fetchrow(query, *arguments)
    first, last = row if row is not None else (None, None)
    return (last - first).total_seconds() if first and last else float("nan")


async def figures(
    context: Context,
    round_: data.Round,
    staged_at: datetime,
    staged: int,
    seconds: tuple[float, float],
) -> list[Figure]:
    relayed, applied = seconds
    indicators = await context.platform.database("indicators")
    households = await context.platform.database("households")
    try:
        # From the first to the last event applied: the pipeline's pace once running.
        applying = await _span(
            indicators,
            "SELECT min(classified_at), max(classified_at) FROM household_classification "
            "WHERE round_id = $1",
            UUID(round_.id),
        )
        publishing = await _span(
            households,
            "SELECT min(published_at), max(published_at) FROM outbox_message WHERE created_at = $1",
            staged_at,
        )
    finally:
        await indicators.close()
        await households.close()
    rate = staged / applying if applying else float("nan")
    relay_rate = staged / publishing if publishing else float("nan")
    return [
        Figure(
            "P4",
            "events applied per second, outbox to aggregates",
            rate,
            "events/s",
            staged,
            reference="relay alone (published and confirmed)",
            reference_value=relay_rate,
            ratio=rate / relay_rate,
            target=f"≥ {TARGET_RATE:,.0f} events/s",
            met=rate >= TARGET_RATE,
            details={"applying_seconds": applying, "publishing_seconds": publishing},
        ),
        *at_size(
            "P4",
            staged,
            applied,
            f"≤ {BACKLOG / TARGET_RATE:.0f} s (1,500 events/s)",
            BACKLOG / TARGET_RATE,
            size=BACKLOG,
            what="events",
            reference="relay alone",
            reference_value=relayed,
        ),
    ]
