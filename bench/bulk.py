"""P6: bulk import of N households to consistent aggregates, beside a bare PostgreSQL COPY.

The synthetic province (the project's generator, N households) is written as `households.jsonl`
and `populations.csv`. The populations go in first (they are not what is timed). Then the clock
runs from the upload (gzip-compressed, as `python -m bulk_upload` sends it) through the
import job to the moment the province's figures count every imported household: written, events
relayed, classified and counted. The reference loads the same file's rows, one `jsonb` value a
line, into a bare table of the same PostgreSQL server with one `COPY`.
"""

import asyncio
import gzip
import time
from pathlib import Path

import httpx

from bench import data
from bench.context import Context
from bench.profile import profiled
from bench.report import Figure, at_size
from synthetic.generator import Commune
from synthetic.province import write_province

TARGET_SECONDS, TARGET_RATIO = 120.0, 3.0  # for 1,000,000 households; within 3× of COPY


async def run(context: Context) -> tuple[list[Figure], data.Round]:
    platform, sizes = context.platform, context.sizes
    async with platform.client() as client:
        round_ = await data.open_round(client)
        files = await asyncio.to_thread(
            write_province,
            [Commune(unit.commune, unit.urban) for unit in context.units],
            platform.stack.config.log_dir.parent / "synthetic",
            households=sizes.households,
            seed=sizes.seed + 6,
            reference_date=round_.reference_date,
        )
        populations = await client.post(
            f"/api/v1/populations/{round_.id}/import",
            content=files.populations_path.read_bytes(),
            headers={"Content-Type": "text/csv"},
        )
        populations.raise_for_status()
        await platform.idle()
        pids = {n: platform.pid_of(n) for n in ("households-importer", "indicators-worker")}
        with profiled(context.profile_dir, "P6", pids):
            started = time.perf_counter()
            job = await _upload(client, files.households_path, round_.id)
            job = await _finished(client, job)
            imported_at = time.perf_counter() - started
            await _counted(client, round_.id, job["households_imported"])
            consistent_at = time.perf_counter() - started
    copy_seconds = await bare_copy(context, files.households_path)
    return figures(job, imported_at, consistent_at, copy_seconds), round_


def _gzipped(path: Path) -> bytes:
    return gzip.compress(path.read_bytes(), 5)


async def _upload(client: httpx.AsyncClient, path: Path, round_id: str) -> dict[str, object]:
    packed = await asyncio.to_thread(_gzipped, path)
    response = await client.post(
        "/api/v1/imports",
        files={"file": (f"{path.name}.gz", packed)},
        data={"round_id": round_id},
        timeout=600,
    )
    response.raise_for_status()
    return dict(response.json())


async def _finished(client: httpx.AsyncClient, job: dict[str, object]) -> dict[str, object]:
    while job["status"] not in ("completed", "failed"):
        await asyncio.sleep(0.25)
        response = await client.get(f"/api/v1/imports/{job['id']}")
        response.raise_for_status()
        job = response.json()
    if job["status"] == "failed":
        raise RuntimeError(f"the bulk import failed: {job.get('error')}")
    return job


async def _counted(client: httpx.AsyncClient, round_id: str, households: object) -> None:
    """Until the province's figures count `households` surveyed households."""
    deadline = time.perf_counter() + 3600
    while time.perf_counter() < deadline:
        response = await client.get(f"/api/v1/figures/{round_id}/{data.PROVINCE}")
        if response.status_code == 200:
            if response.json()["total"]["households"]["surveyed"] >= households:
                return
        await asyncio.sleep(0.25)
    raise TimeoutError("the imported households were not all counted within an hour")


async def bare_copy(context: Context, path: Path) -> float:
    """Seconds to COPY the file's lines into a bare `jsonb` table (read, parsed, written)."""
    connection = await context.platform.database("households")
    try:
        await connection.execute(
            "DROP TABLE IF EXISTS bench_copy; CREATE TABLE bench_copy (line jsonb)"
        )
        started = time.perf_counter()
        # Each line as one value: CSV with quote and delimiter bytes no JSON text contains.
        await connection.copy_to_table(
            "bench_copy",
            source=path,
            columns=["line"],
            format="csv",
            delimiter="\x02",
            quote="\x01",
        )
        seconds = time.perf_counter() - started
        await connection.execute("DROP TABLE bench_copy")
    finally:
        await connection.close()
    return seconds


def figures(
    job: dict[str, object], imported_at: float, consistent_at: float, copy_seconds: float
) -> list[Figure]:
    n = int(job["households_imported"])  # type: ignore[call-overload]
    ratio = consistent_at / copy_seconds
    return [
        Figure(
            "P6",
            f"bulk import of {n:,} households to consistent aggregates",
            consistent_at,
            "s",
            n,
            reference="bare COPY of the same rows",
            reference_value=copy_seconds,
            ratio=ratio,
            target=f"within {TARGET_RATIO:.0f}× of COPY",
            met=ratio <= TARGET_RATIO,
            note=f"import job done after {imported_at:.1f} s, figures consistent after "
            f"{consistent_at:.1f} s; rows failed {job['rows_failed']}",
            details={
                "import_job_seconds": imported_at,
                "rows_failed": job["rows_failed"],
                "households_skipped": job["households_skipped"],
            },
        ),
        *at_size(
            "P6",
            n,
            consistent_at,
            f"≤ {TARGET_SECONDS:.0f} s",
            TARGET_SECONDS,
            reference="bare COPY of the same rows",
            reference_value=copy_seconds,
        ),
    ]
