"""`python -m synthetic`: write a synthetic province as bulk-import files.

    python -m synthetic --province 26 --households 10000 --seed 7 --out data/synthetic/

reads the province's communes from the households database (DATABASE_URL, or --database-url; the
embedded platform's is data/households.db once `make run` has started) and writes
`households.jsonl` and `populations.csv` into --out. The same arguments give the same bytes.
"""

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy.engine import make_url

from households.config import Settings
from kit.db import make_engine, make_sessionmaker
from synthetic.communes import province_communes
from synthetic.generator import DEFAULT_SEED, REFERENCE_DATE, Commune
from synthetic.province import write_province


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m synthetic",
        description="Write a synthetic province (households.jsonl, populations.csv).",
    )
    parser.add_argument("--province", default="26", help="province code (default 26, Vĩnh Phúc)")
    parser.add_argument("--households", type=int, default=10_000, help="how many (default 10000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=Path("data/synthetic"), help="directory")
    parser.add_argument(
        "--reference-date",
        type=date.fromisoformat,
        default=REFERENCE_DATE,
        help=f"the round's reference date: ages and communes in force (default {REFERENCE_DATE})",
    )
    parser.add_argument("--database-url", help="households database (default: DATABASE_URL)")
    parser.add_argument(
        "--workers",
        type=int,
        help="processes sharing the work (default: one per CPU from 200000 households on)",
    )
    arguments = parser.parse_args(argv)
    if arguments.households < 0:
        parser.error("--households must be 0 or more")
    if arguments.workers is not None and arguments.workers < 1:
        parser.error("--workers must be 1 or more")

    url = arguments.database_url or Settings().DATABASE_URL
    database = make_url(url).database
    if url.startswith("sqlite") and database and not Path(database).exists():
        sys.exit(f"error: no database at {database}: start `make run` once, or give --database-url")
    communes = asyncio.run(_communes(url, arguments.province, arguments.reference_date))
    if not communes:
        sys.exit(
            f"error: province {arguments.province!r} has no communes on "
            f"{arguments.reference_date} in {make_url(url).render_as_string()}"
        )

    started = time.perf_counter()
    files = write_province(
        communes,
        arguments.out,
        households=arguments.households,
        seed=arguments.seed,
        reference_date=arguments.reference_date,
        workers=arguments.workers,
    )
    seconds = time.perf_counter() - started
    sys.stderr.write(
        f"{files.households} households ({files.persons} persons) over {files.communes} of "
        f"{len(communes)} communes of province {arguments.province}: {files.households_path}, "
        f"{files.populations_path} in {seconds:.1f} s "
        f"({files.households / seconds if seconds else 0:,.0f} households/s)\n"
    )


async def _communes(url: str, province: str, on: date) -> list[Commune]:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await province_communes(session, province, on=on)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    main()
