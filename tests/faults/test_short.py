"""The fault matrix's short form, for CI: the faults that matter most, once each, on throwaway
PostgreSQL and RabbitMQ servers (`python -m tests.faults` runs the full form)."""

import shutil
from pathlib import Path

import pytest

from faults.infra import ThrowawayRabbitMQ
from faults.matrix import SHORT, run_matrix, table

pytestmark = [pytest.mark.infra]


def servers_installed() -> bool:
    return (
        bool(list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb"))
        and Path(ThrowawayRabbitMQ.RABBITMQ_SERVER).exists()
    )


@pytest.mark.skipif(not servers_installed(), reason="initdb and rabbitmq-server are not installed")
async def test_nothing_is_lost_or_counted_twice_under_the_main_faults() -> None:
    results = await run_matrix(list(SHORT), runs=1, seed=15)
    report = table(results)
    for result in results:
        assert result.lost == 0, report
        assert result.duplicates == 0, report
        assert result.unexpected == 0, report
        assert result.recalculation_unchanged, report
