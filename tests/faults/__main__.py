"""`python -m tests.faults`: the fault matrix (docs/reliability.md).

    python -m tests.faults                    # every fault, 20 times each
    python -m tests.faults --short --runs 2   # what CI runs (tests/faults/test_short.py)
    python -m tests.faults --fault "indicators-worker SIGKILL" --runs 5

Needs the PostgreSQL server binaries (initdb, pg_ctl) and rabbitmq-server installed; starts its own
throwaway cluster and node, never touching the machine's.
"""

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: `support`, `faults`

from faults.matrix import FAULTS, SHORT, as_json, run_matrix, table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="injections of each fault")
    parser.add_argument("--fault", action="append", choices=sorted(FAULTS), help="only these")
    parser.add_argument("--short", action="store_true", help="the faults that matter most")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", type=Path, help="write the results here too")
    arguments = parser.parse_args()
    faults = arguments.fault or (list(SHORT) if arguments.short else list(FAULTS))
    results = asyncio.run(run_matrix(faults, arguments.runs, seed=arguments.seed))
    print("\n" + table(results))  # noqa: T201 - the report
    if arguments.json:
        arguments.json.write_text(as_json(results) + "\n", encoding="utf-8")
    sys.exit(0 if all(result.ok for result in results) else 1)


if __name__ == "__main__":
    main()
