"""The end-to-end scenarios on the distributed setup: every process of docker-compose.yml run
natively against the real PostgreSQL and RabbitMQ (each run with its own databases and vhost)."""

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest
import pytest_asyncio
from support import platform_api
from support.platform_api import Api, PasswordLogin

from kit import testing
from kit.auth import SigningKey
from kit.contracts import Envelope
from kit.messaging.topology import EVENTS_EXCHANGE
from launcher.distributed import DistributedStack, StackConfig

pytestmark = [pytest.mark.infra, pytest.mark.asyncio(loop_scope="module")]

ADMIN_PASSWORD = "e2e-first-admin"
KEY_FILE = "signing-key.pem"  # SIGNING_KEY_FILE's name in docker-compose.yml
Target = tuple[httpx.AsyncClient, str]


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
            state_dir=tmp_path_factory.mktemp("state"),
            admin_password=ADMIN_PASSWORD,
            extra_environment={
                "RELAY_POLL_SECONDS": "0.05",
                "LOG_LEVEL": "WARNING",
                # Services refetch the gateway's keys this often: a replaced key is refused soon.
                "AUTH_JWKS_CACHE_SECONDS": "1",
            },
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
    """The first admin, logged in through the gateway's token endpoint."""
    login = PasswordLogin(stack.admin_username, stack.admin_password)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30, auth=login) as client:
        yield Api(client)


def signing_key(stack: DistributedStack) -> SigningKey:
    """The gateway's key, from the file its volume holds (natively: the state folder)."""
    return SigningKey.from_pem((stack.config.state_dir / KEY_FILE).read_bytes())


@asynccontextmanager
async def anonymous_clients(stack: DistributedStack) -> AsyncIterator[list[Target]]:
    """Unauthenticated clients of the gateway and of each service API, with a path that needs a
    caller on each."""
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gateway,
        httpx.AsyncClient(base_url=stack.url_of("households-api"), timeout=30) as households,
        httpx.AsyncClient(base_url=stack.url_of("indicators-api"), timeout=30) as indicators,
        httpx.AsyncClient(base_url=stack.url_of("notifications-api"), timeout=30) as notifications,
    ):
        yield [
            (gateway, "/api/v1/rounds"),
            (gateway, "/api/v1/auth/me"),
            (households, "/api/v1/rounds"),
            (indicators, "/api/v1/standards"),
            (notifications, "/api/v1/notifications"),
        ]


async def test_an_assessment_shows_in_commune_district_and_province(api: Api) -> None:
    await platform_api.an_assessment_shows_in_every_level(api)


async def test_an_approved_commune_is_read_only_and_its_figures_say_so(api: Api) -> None:
    await platform_api.an_approved_commune_is_read_only_and_its_figures_say_so(api)


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
        "households-importer",
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


async def test_an_api_key_is_exchanged_for_a_token_and_revocable(
    api: Api, stack: DistributedStack
) -> None:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as anonymous:
        await platform_api.an_api_key_is_exchanged_for_a_token_and_revocable(api, Api(anonymous))


async def test_untrustworthy_tokens_are_refused_at_the_gateway_and_at_each_service(
    stack: DistributedStack,
) -> None:
    async with anonymous_clients(stack) as targets:
        await platform_api.untrustworthy_tokens_are_refused(signing_key(stack), targets)


async def test_a_deactivated_users_token_is_refused_everywhere_within_seconds(
    api: Api, stack: DistributedStack
) -> None:
    async with anonymous_clients(stack) as targets:
        await platform_api.a_deactivated_users_token_is_refused_everywhere_within_seconds(
            api, targets
        )


# Last: it replaces the gateway's signing key.
async def test_a_replaced_signing_key_is_refused_everywhere_once_services_refetch_it(
    api: Api, stack: DistributedStack
) -> None:
    old = signing_key(stack)
    old_token = platform_api.valid_token(old)
    stack.stop(["gateway"])
    (stack.config.state_dir / KEY_FILE).unlink()  # rotation: a new key file (made at start)
    stack.start(["gateway"])
    await stack.wait_healthy(within=60)
    new = signing_key(stack)
    assert new.kid != old.kid

    stale = {"Authorization": f"Bearer {old_token}"}
    async with anonymous_clients(stack) as targets:
        for client, path in targets:

            async def refused(client: httpx.AsyncClient = client, path: str = path) -> bool:
                return (await client.get(path, headers=stale)).status_code == 401

            await platform_api.eventually(refused, within=30)
        await platform_api.untrustworthy_tokens_are_refused(new, targets)
    # The admin's client logs in again when its token (signed by the old key) is refused.
    assert (await api.client.get("/api/v1/rounds")).status_code == 200
