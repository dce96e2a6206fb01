"""The delivery worker: sends due webhook and e-mail deliveries, many at a time.

Claims are topped up as soon as slots free, not batch by batch, and one subscription's endpoint
has at most DELIVERY_CONCURRENCY_PER_ENDPOINT of them: a receiver that hangs holds only those
(each for at most the read timeout) and every other delivery goes on.
"""

import asyncio
import functools
import json
from collections import Counter
from datetime import date
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.db import through_outages, utc_now
from notifications.config import Settings
from notifications.delivery import service as delivery_service
from notifications.delivery.models import DeliveryChannel
from notifications.email import messages
from notifications.subscription.models import Channel, Status
from notifications.webhooks import client as webhook_client
from notifications.webhooks.addresses import networks

log = structlog.get_logger()


class DeliveryWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        connections: webhook_client.Connections | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._allowed = networks(settings.WEBHOOK_ALLOWED_NETWORKS)
        # One set of kept-alive connections for all of this process's deliveries.
        self._connections = connections or webhook_client.Connections(
            connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.WEBHOOK_READ_TIMEOUT_SECONDS,
            keepalive_seconds=settings.WEBHOOK_KEEPALIVE_SECONDS,
            max_idle_per_origin=settings.DELIVERY_CONCURRENCY,
        )
        self._running: set[asyncio.Task[None]] = set()
        self._per_endpoint: Counter[UUID] = Counter()  # deliveries in flight per subscription
        self._policy = delivery_service.RetryPolicy(
            max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
            retry_initial=settings.WEBHOOK_RETRY_INITIAL_SECONDS,
            retry_max=settings.WEBHOOK_RETRY_MAX_SECONDS,
            disable_after=settings.WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES,
        )
        # Attempts are recorded in batches (one transaction for many), each delivery's task
        # waiting for its own record before its slot frees.
        self._to_record: list[tuple[delivery_service.Finished, asyncio.Future[str]]] = []
        self._recording: asyncio.Task[None] | None = None

    async def aclose(self) -> None:
        tasks = [*self._running, *([self._recording] if self._recording else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._connections.aclose()

    async def run(self) -> None:
        """Forever: keep up to DELIVERY_CONCURRENCY deliveries in flight."""
        retrying = through_outages("delivery.database_unavailable")
        try:
            while True:
                started: int = await retrying(self.top_up)
                if started:
                    continue
                if self._running:
                    await asyncio.wait(
                        self._running,
                        timeout=self._settings.DELIVERY_POLL_SECONDS,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                else:
                    await asyncio.sleep(self._settings.DELIVERY_POLL_SECONDS)
        finally:
            await self.aclose()

    async def top_up(self) -> int:
        """Claim due deliveries for the free slots and start them; how many were started."""
        concurrency = self._settings.DELIVERY_CONCURRENCY
        per_endpoint = self._settings.DELIVERY_CONCURRENCY_PER_ENDPOINT
        free = concurrency - len(self._running)
        # Claimed in chunks (a quarter of the slots at least) rather than one row per freed slot:
        # each claim is a transaction of its own.
        if free <= 0 or (self._running and free < max(1, concurrency // 4)):
            return 0
        busy = {owner for owner, count in self._per_endpoint.items() if count >= per_endpoint}
        claims = await delivery_service.claim_due(
            self._sessionmaker,
            limit=free,
            lease_seconds=self._settings.DELIVERY_LEASE_SECONDS,
            skip_subscriptions=busy,
        )
        excess = []
        for claim in claims:
            owner = claim.subscription.id
            if self._per_endpoint[owner] >= per_endpoint:
                excess.append(claim)
                continue
            self._per_endpoint[owner] += 1
            task = asyncio.create_task(self.deliver(claim))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            task.add_done_callback(functools.partial(self._release_slot, owner))
        if excess:
            # More for one endpoint than it may have in flight: handed back untried, taken
            # again once the endpoint has a free slot.
            await delivery_service.give_back(self._sessionmaker, excess)
        return len(claims) - len(excess)

    def _release_slot(self, owner: UUID, _: object) -> None:
        self._per_endpoint[owner] -= 1
        if self._per_endpoint[owner] <= 0:
            del self._per_endpoint[owner]

    async def drain(self) -> int:
        """Send everything due now and wait for it (tests, the bench); how many were sent."""
        total = 0
        while True:
            started = await self.top_up()
            total += started
            if not started and not self._running:
                return total
            if self._running:
                await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)

    async def _record(self, item: delivery_service.Finished) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._to_record.append((item, future))
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_batches())
        return await future

    async def _record_batches(self) -> None:
        while self._to_record:
            await asyncio.sleep(0.005)  # let the attempts finishing together join the batch
            batch, self._to_record = self._to_record[:200], self._to_record[200:]
            try:
                statuses = await delivery_service.finish_many(
                    self._sessionmaker, [item for item, _ in batch], policy=self._policy
                )
            except Exception as error:
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), status in zip(batch, statuses, strict=True):
                future.set_result(status)

    async def deliver(self, claim: delivery_service.Claim) -> None:
        try:
            await self._deliver(claim)
        except Exception:
            # The claim's lease runs out and the delivery is taken again.
            log.exception("delivery.crashed", delivery_id=str(claim.delivery.id))

    async def _deliver(self, claim: delivery_service.Claim) -> None:
        settings = self._settings
        delivery, subscription = claim.delivery, claim.subscription
        started_at = utc_now()
        channel = Channel.webhook if delivery.channel == DeliveryChannel.webhook else Channel.email
        if (
            subscription.status != Status.active
            or channel not in subscription.channels
            or (channel == Channel.webhook and subscription.webhook_disabled_at is not None)
        ):
            await self._record(
                delivery_service.Finished(claim, False, started_at, 0.0, cancelled=True)
            )
            return
        if delivery.channel == DeliveryChannel.webhook:
            secrets = [subscription.webhook_secret or ""]
            previous_until = subscription.webhook_previous_secret_until
            if subscription.webhook_previous_secret and previous_until:
                if delivery_service.aware(previous_until) > started_at:
                    secrets.append(subscription.webhook_previous_secret)
            outcome = await webhook_client.post(
                self._connections,
                url=subscription.webhook_url or "",
                body=delivery.payload.encode(),
                message_id=f"msg_{delivery.id.hex}",
                secrets_in_use=secrets,
                allowed=self._allowed,
                max_response_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES,
            )
            status = await self._record(
                delivery_service.Finished(
                    claim, outcome.succeeded, started_at, outcome.latency_ms,
                    outcome.status_code, outcome.error, outcome.response_excerpt,
                )
            )  # fmt: skip
            # Successes at debug level: at hundreds a second they would drown the log.
            (log.debug if outcome.succeeded else log.info)(
                "webhook.attempted", delivery_id=str(delivery.id), status=status,
                status_code=outcome.status_code, latency_ms=outcome.latency_ms,
            )  # fmt: skip
            return
        held_ids = []
        if delivery.channel == DeliveryChannel.email_digest:
            assert delivery.digest_day is not None
            held = await delivery_service.held_for_digest(
                self._sessionmaker, subscription.id, delivery.digest_day
            )
            held_ids = [item.id for item in held]
            if not held_ids:  # sent before, by a worker that stopped before recording it
                await self._record(
                    delivery_service.Finished(claim, False, started_at, 0.0, cancelled=True)
                )
                return
            items = [json.loads(item.payload) for item in held]
            letter = _digest_letter(
                subscription.email_address or "", subscription.language, delivery.digest_day, items
            )
        else:
            context = json.loads(delivery.payload)
            letter = messages.Letter(
                to=subscription.email_address or "",
                language=subscription.language,
                subject=context["title"],
                template="message",
                context=context,
            )
        loop = asyncio.get_running_loop()
        clock = loop.time()
        error = None
        try:
            message = messages.build(settings, letter, subscription_id=subscription.id)
            await messages.send(settings, message, name=f"{started_at:%Y%m%dT%H%M%S}-{delivery.id}")
        except Exception as failure:  # SMTP refusals, timeouts, a full disk: retried
            error = f"{type(failure).__name__}: {failure}"
        latency = round((loop.time() - clock) * 1000, 1)
        status = await self._record(
            delivery_service.Finished(claim, error is None, started_at, latency, error=error)
        )
        if error is None and held_ids:
            await delivery_service.mark_digested(self._sessionmaker, held_ids)
        log.info("email.attempted", delivery_id=str(delivery.id), status=status, error=error)


def _digest_letter(
    to: str, language: str, day: date, items: list[dict[str, object]]
) -> messages.Letter:
    subject = {"vi": f"Tin tổng hợp ngày {day:%d/%m/%Y}", "en": f"Digest of {day.isoformat()}"}
    return messages.Letter(
        to=to,
        language=language,
        subject=subject.get(language, subject["vi"]),
        template="digest",
        context={"day": day.isoformat(), "items": items},
    )
