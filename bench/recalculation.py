"""P7: full recalculation of a round (P6's N households), beside one hand-written SQL query.

The recalculation is asked for through the gateway (`POST /api/v1/recalculations`) and polled
until it succeeds; the clock includes the worker's wait for its next look at the job queue
(`RECALCULATION_POLL_SECONDS`, 1 s by default). It re-classifies every assessment copy with the
engine, then swaps in the counters.

The reference is one SQL statement over the indicators database computing the same counters for
every unit of the round from the stored classifications (the classification engine is Python and
its rules are data, so the query takes each household's class and deprivations as given: it is the
aggregation a recalculation must at least do). After the recalculation, the query's counters are
compared with the service's, so the reference is known to compute the same figures.
"""

import asyncio
import time
from typing import Any
from uuid import UUID

import httpx

from bench import data
from bench.context import Context
from bench.profile import profiled
from bench.report import Figure

TARGET_SECONDS, TARGET_RATIO, AT = 5.0, 2.0, 1_000_000

# Every counter `indicators.figures.counts` defines, for every unit on each household's path.
FIGURES_SQL = """
WITH household AS (
    SELECT unit_path, area, persons, household_class AS class, result -> 'deprived' AS deprived
    FROM household_classification WHERE round_id = $1
),
on_path AS (
    SELECT path.unit, household.*
    FROM household CROSS JOIN LATERAL json_array_elements_text(household.unit_path) AS path(unit)
),
counts AS (
    SELECT unit, 'households.' || grp || sfx AS metric, count(*) AS value
    FROM on_path,
        LATERAL (VALUES ('surveyed'), (class)) g(grp),
        LATERAL (VALUES (''), ('.' || area)) s(sfx)
    GROUP BY 1, 2
    UNION ALL
    SELECT unit, 'persons.' || grp || sfx, sum(persons)
    FROM on_path,
        LATERAL (VALUES ('surveyed'), (class)) g(grp),
        LATERAL (VALUES (''), ('.' || area)) s(sfx)
    GROUP BY 1, 2
    UNION ALL
    SELECT unit, 'deprived.' || class || '.' || (d ->> 'key'), count(*)
    FROM on_path, json_array_elements(deprived) d
    WHERE class IN ('poor', 'near_poor')
    GROUP BY 1, 2
    UNION ALL
    SELECT unit, 'deprived_dimension.' || class || '.' || dimension, count(*)
    FROM on_path, LATERAL (
        SELECT DISTINCT d ->> 'dimension' AS dimension FROM json_array_elements(deprived) d
    ) dims
    WHERE class IN ('poor', 'near_poor')
    GROUP BY 1, 2
    UNION ALL
    SELECT unit, 'deprivations.' || class, sum(json_array_length(deprived))
    FROM on_path WHERE class IN ('poor', 'near_poor')
    GROUP BY 1, 2
    UNION ALL
    SELECT path.unit, metric || sfx, sum(value)
    FROM population_copy p,
        LATERAL json_array_elements_text(p.facts -> 'unit_path') AS path(unit),
        LATERAL (VALUES
            ('households.resident', (p.facts ->> 'resident_households')::bigint),
            ('persons.resident', (p.facts ->> 'resident_persons')::bigint)
        ) m(metric, value),
        LATERAL (VALUES (''), ('.' || (p.facts ->> 'area'))) s(sfx)
    WHERE p.round_id = $1
    GROUP BY 1, 2
    UNION ALL
    SELECT path.unit, 'communes.with_population', count(*)
    FROM population_copy p, LATERAL json_array_elements_text(p.facts -> 'unit_path') AS path(unit)
    WHERE p.round_id = $1
    GROUP BY 1, 2
    UNION ALL
    SELECT path.unit, 'communes.missing_population', count(*)
    FROM (SELECT DISTINCT ON (unit_path::text) unit_path FROM household) c,
        LATERAL json_array_elements_text(c.unit_path) AS path(unit)
    WHERE NOT EXISTS (
        SELECT 1 FROM population_copy p
        WHERE p.round_id = $1 AND p.unit_code = c.unit_path ->> -1
    )
    GROUP BY 1, 2
)
SELECT unit, metric, value FROM counts WHERE value <> 0
"""


async def run(context: Context, round_: data.Round) -> list[Figure]:
    platform = context.platform
    await platform.idle()
    async with platform.client() as client:
        with profiled(context.profile_dir, "P7", {"worker": platform.pid_of("indicators-worker")}):
            started = time.perf_counter()
            job = await _recalculated(client, round_.id)
            seconds = time.perf_counter() - started
    reference, consistent = await hand_written(context, round_.id)
    return figures(job, seconds, reference, consistent)


async def _recalculated(client: httpx.AsyncClient, round_id: str) -> dict[str, Any]:
    response = await client.post("/api/v1/recalculations", json={"round_id": round_id})
    response.raise_for_status()
    job: dict[str, Any] = response.json()
    while job["status"] not in ("succeeded", "failed"):
        await asyncio.sleep(0.1)
        response = await client.get(f"/api/v1/recalculations/{job['id']}")
        response.raise_for_status()
        job = response.json()
    if job["status"] == "failed":
        raise RuntimeError(f"the recalculation failed: {job['error']}")
    return job


async def hand_written(context: Context, round_id: str) -> tuple[float, bool]:
    """Seconds the query takes, and whether it gives the service's counters exactly."""
    connection = await context.platform.database("indicators")
    try:
        started = time.perf_counter()
        rows = await connection.fetch(FIGURES_SQL, UUID(round_id))
        seconds = time.perf_counter() - started
        stored = await connection.fetch(
            "SELECT unit_code, metric, value FROM unit_figure WHERE round_id = $1 AND value <> 0",
            UUID(round_id),
        )
    finally:
        await connection.close()
    computed = {(r["unit"], r["metric"]): int(r["value"]) for r in rows}
    service = {(r["unit_code"], r["metric"]): int(r["value"]) for r in stored}
    return seconds, computed == service


def figures(
    job: dict[str, Any], seconds: float, reference: float, consistent: bool
) -> list[Figure]:
    n = int(job["done"])
    ratio = seconds / reference
    at_target = seconds * AT / n if n else float("nan")
    agreement = "gives" if consistent else "does NOT give"
    return [
        Figure(
            "P7",
            f"full recalculation of a round of {n:,} households",
            seconds,
            "s",
            n,
            reference="one hand-written SQL query",
            reference_value=reference,
            ratio=ratio,
            target=f"within {TARGET_RATIO:.0f}× of the query",
            met=ratio <= TARGET_RATIO,
            note=f"the query {agreement} the service's counters exactly; "
            f"changed classes {job['changed_classes']}, figures changed {job['figures_changed']}",
            details={"consistent_with_service": consistent},
        ),
        Figure(
            "P7",
            "the same pace for 1,000,000 households (by proportion)",
            at_target,
            "s",
            n,
            reference="the query, by proportion",
            reference_value=reference * AT / n if n else None,
            ratio=ratio,
            target=f"≤ {TARGET_SECONDS:.0f} s",
            met=at_target <= TARGET_SECONDS,
        ),
    ]
