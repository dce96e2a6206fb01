"""Backup and restore, as docs/operations.md tells operators to do it: the households database is
restored from a dump taken while surveys kept coming in, and the platform reconciles to figures a
full recalculation confirms.

On the distributed processes (natively), against databases and a RabbitMQ virtual host of this
test's own, with the machine's `pg_dump` and `pg_restore`.
"""

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
import pytest_asyncio
from support.load import COMMUNES, SurveyLoad
from support.platform_api import Api, PasswordLogin, eventually

from kit import testing
from kit.messaging.topology import INDICATORS_QUEUE, NOTIFICATIONS_QUEUE
from launcher.distributed import DistributedStack, StackConfig

pytestmark = [pytest.mark.infra, pytest.mark.asyncio(loop_scope="module")]

RECONCILIATIONS = "/api/v1/admin/indicators/reconciliations"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DistributedStack]:
    testing.require_infra()
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    vhost = testing.create_vhost()
    stack = DistributedStack(
        StackConfig(
            postgres_url=testing.POSTGRES_URL,
            rabbitmq_url=vhost,
            database_prefix=f"restore_{vhost.rsplit('-', 1)[-1]}_",
            gateway_port=18500,
            first_service_port=18501,
            first_metrics_port=18600,
            log_dir=tmp_path_factory.mktemp("logs"),
            state_dir=tmp_path_factory.mktemp("state"),
            admin_password="restore-first-admin",
            extra_environment={"RELAY_POLL_SECONDS": "0.05", "LOG_LEVEL": "WARNING"},
        )
    )
    await stack.create_databases()
    try:
        stack.migrate()
        stack.start()
        await stack.wait_healthy(within=120)
        yield stack
    finally:
        stack.stop()
        await stack.drop_databases()
        testing.delete_vhost(vhost)


def plain_url(stack: DistributedStack, service: str) -> str:
    return stack.database_url(service).replace("+asyncpg", "")


async def dump(stack: DistributedStack, service: str, into: Path) -> None:
    """`pg_dump --format=custom`: one consistent snapshot of the database, taken while it runs."""
    await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "--format=custom", f"--file={into}", plain_url(stack, service)],
        check=True,
        capture_output=True,
    )


async def restore(stack: DistributedStack, service: str, backup: Path) -> None:
    """Drop the database, create it empty and `pg_restore` the dump into it."""
    name = plain_url(stack, service).rsplit("/", 1)[-1]
    admin = await asyncpg.connect(stack.config.postgres_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await asyncio.to_thread(
        subprocess.run,
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", plain_url(stack, service), backup],
        check=True,
        capture_output=True,
    )


async def purge_consumer_queues(stack: DistributedStack) -> None:
    """Events of the lost timeline still queued for the consumers (docs/operations.md)."""
    connection = await aio_pika.connect(stack.config.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        for spec in (INDICATORS_QUEUE, NOTIFICATIONS_QUEUE):
            queue = await channel.declare_queue(spec.name, passive=True)
            await queue.purge()


async def reconcile(api: Api, round_: dict[str, Any], **body: Any) -> dict[str, Any]:
    return await api.ok(api.client.post(RECONCILIATIONS, json={"round_id": round_["id"], **body}))


async def figures_of(api: Api, round_: dict[str, Any]) -> dict[str, Any]:
    """Each commune's figures, without when they were computed (`as_of`) and what they reflect
    (`freshness`: a recalculation rewrites the counters, so their time moves on)."""
    found = {}
    for commune in COMMUNES:
        figures = await api.figures(round_, commune)
        found[commune] = (
            None
            if figures is None
            else {k: v for k, v in figures.items() if k not in ("as_of", "freshness")}
        )
    return found


async def test_the_households_database_restored_from_a_dump_taken_mid_load_reconciles(
    stack: DistributedStack, tmp_path: Path
) -> None:
    login = PasswordLogin(stack.admin_username, stack.admin_password)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, auth=login) as client:
        api = Api(client)
        round_ = await api.open_round()
        load = await SurveyLoad.prepared(api, round_, households=30, writers=3, tag="BKP")
        load.start()
        await asyncio.sleep(3)
        # The documented order: the consumers' databases first, then the producer's, so that the
        # producer's copy is the newer one and whatever the consumers miss can be published again.
        await dump(stack, "indicators", tmp_path / "indicators.dump")
        before_households_dump = load.ledger.latest()
        await dump(stack, "households", tmp_path / "households.dump")
        await asyncio.sleep(3)  # writes the backup will not have
        ledger = await load.stop()
        assert ledger.writes > len(before_households_dump) > 0
        assert ledger.duplicated_versions() == 0

        # The disaster: the households database is lost. Everything stops; the households
        # database comes back from its dump, the indicators one from its older dump, and the
        # consumers' queues lose the events of the timeline that is gone.
        stack.stop()
        await restore(stack, "households", tmp_path / "households.dump")
        await restore(stack, "indicators", tmp_path / "indicators.dump")
        await purge_consumer_queues(stack)
        stack.start()
        await stack.wait_healthy(within=120)

        # Every survey acknowledged before the households dump began is there, at least at the
        # version acknowledged then (the dump is one snapshot, taken at its start or later).
        for household_id, version in before_households_dump.items():
            held = await load.current_version(household_id)
            assert held is not None
            assert held >= version, household_id

        await reconcile(api, round_, republish=True)

        async def consistent() -> dict[str, Any] | None:
            found = await reconcile(api, round_)
            return found if found["matching"] else None

        assert (await eventually(consistent, within=90))["differences"] == []

        reconciled = await figures_of(api, round_)
        job = await api.recalculate(round_)
        assert job["status"] == "succeeded", job
        assert await figures_of(api, round_) == reconciled
        surveyed = sum(
            figures["total"]["households"]["surveyed"]
            for figures in reconciled.values()
            if figures is not None
        )
        assert surveyed == len(load.households)
