"""The end-to-end scenarios on the distributed setup: every process of docker-compose.yml run
natively against the real PostgreSQL and RabbitMQ (each run with its own databases and vhost)."""

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest
import pytest_asyncio
from support import platform_api
from support.platform_api import Api

from kit import testing
from kit.contracts import Envelope
from kit.messaging.topology import EVENTS_EXCHANGE
from launcher.distributed import DistributedStack, StackConfig

pytestmark = [pytest.mark.infra, pytest.mark.asyncio(loop_scope="module")]


async def rabbitmqctl(command: str) -> None:
    """Stop or start the whole local broker: the outage the scenarios need."""
    await asyncio.to_thread(
        subprocess.run, ["rabbitmqctl", "-q", command], check=True, capture_output=True
    )


class RabbitMQBroker:
    def __init__(self, stack: DistributedStack) -> None:
        self.stack = stack

    async def publish_raw(self, body: bytes, *, type: str, message_id: str) -> None:
        connection = await aio_pika.connect(self.stack.config.rabbitmq_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.get_exchange(EVENTS_EXCHANGE)
            await exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=message_id,
                    type=type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=type,
                timeout=5,
            )

    async def stop(self) -> None:
        await rabbitmqctl("stop_app")

    async def start(self) -> None:
        await rabbitmqctl("start_app")
        await rabbitmqctl("await_startup")

    async def staged_envelopes(self) -> list[Envelope]:
        url = self.stack.database_url("households").replace("+asyncpg", "")
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch("SELECT envelope FROM outbox_message ORDER BY position")
        finally:
            await connection.close()
        return [Envelope.model_validate(json.loads(row["envelope"])) for row in rows]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DistributedStack]:
    testing.require_infra()
    vhost = testing.create_vhost()
    logs: Path = tmp_path_factory.mktemp("logs")
    stack = DistributedStack(
        StackConfig(
            postgres_url=testing.POSTGRES_URL,
            rabbitmq_url=vhost,
            database_prefix=f"e2e_{vhost.rsplit('-', 1)[-1]}_",
            gateway_port=18000,
            first_service_port=18001,
            log_dir=logs,
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


@pytest_asyncio.fixture(loop_scope="module")
async def api(stack: DistributedStack) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield Api(client)


async def test_an_assessment_shows_in_commune_district_and_province(api: Api) -> None:
    await platform_api.an_assessment_shows_in_every_level(api)


async def test_duplicated_and_reordered_events_change_nothing(
    api: Api, stack: DistributedStack
) -> None:
    await platform_api.duplicated_and_reordered_events_change_nothing(api, RabbitMQBroker(stack))


async def test_a_poison_message_is_dead_lettered_while_others_flow(
    api: Api, stack: DistributedStack
) -> None:
    await platform_api.a_poison_message_is_dead_lettered_while_others_flow(
        api, RabbitMQBroker(stack)
    )


async def test_writes_survive_a_broker_outage_and_nothing_is_lost(
    api: Api, stack: DistributedStack
) -> None:
    await platform_api.writes_survive_a_broker_outage(api, RabbitMQBroker(stack))


async def test_every_process_is_still_running(stack: DistributedStack) -> None:
    stack._check_alive()
    assert set(stack.running) == {
        "households-api",
        "households-relay",
        "indicators-api",
        "indicators-relay",
        "indicators-worker",
        "notifications-api",
        "notifications-worker",
        "gateway",
    }


async def test_the_request_id_follows_the_write_into_its_event(
    api: Api, stack: DistributedStack
) -> None:
    await platform_api.the_request_id_follows_the_write_into_its_event(api, RabbitMQBroker(stack))
