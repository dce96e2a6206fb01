"""Review-calendar reminders: each occasion reminded once per subscriber, even with several
workers: a reminder is an event with an id derived from the occasion (type, date, days before,
unit), fanned out like any other, so the unique keys of inbox items and deliveries drop repeats."""

from datetime import date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.contracts import Envelope, ReviewStepChangedV1
from kit.contracts.households import ReviewReopenedV1, ReviewState
from kit.db import insert_for, table_of, utc_now
from notifications.delivery import service as delivery_service
from notifications.reminders.calendar import calendar
from notifications.reminders.models import PostingPeriod

_REMINDERS = uuid5(NAMESPACE_URL, "urn:poverty-review:notifications:reminder")


def reminder(
    occasion_type: str,
    on: date,
    days_before: int,
    *,
    unit_path: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Envelope:
    path = unit_path or []
    key = f"{occasion_type}:{on.isoformat()}:{days_before}:{'/'.join(path)}:{extra or ''}"
    data = {"occasion_on": on.isoformat(), "days_before": days_before, "unit_path": path}
    return Envelope(
        id=uuid5(_REMINDERS, key),
        type=occasion_type,
        schema_version=1,
        producer="notifications",
        subject=key,
        sequence=1,
        data=data | (extra or {}),
    )


def due_reminders(today: date, postings: list[PostingPeriod]) -> list[Envelope]:
    """Every reminder whose day has come and whose occasion has not passed."""
    due = []
    for occasion in calendar().occasions:
        for day in occasion.dates_near(today):
            for before in occasion.days_before:
                if day - timedelta(days=before) <= today:
                    due.append(reminder(occasion.type, day, before))
        if occasion.fallback_posting_period_days is None:
            continue
        for posting in postings:
            for before in occasion.days_before:
                if posting.ends_on - timedelta(days=before) <= today <= posting.ends_on:
                    due.append(
                        reminder(
                            occasion.type,
                            posting.ends_on,
                            before,
                            unit_path=posting.unit_path,
                            extra={
                                "round_id": str(posting.round_id),
                                "commune_code": posting.commune_code,
                                "posted_on": posting.posted_on.isoformat(),
                            },
                        )
                    )
    return due


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> int:
    """Fan out today's reminders (Vietnam time); how many subscriptions they matched."""
    today = delivery_service.local_day(now or utc_now())
    async with sessionmaker() as session, session.begin():
        postings = list(
            (
                await session.exec(select(PostingPeriod).where(col(PostingPeriod.ends_on) >= today))
            ).all()
        )
        return await delivery_service.fan_out(session, due_reminders(today, postings))


async def on_review_step(
    session: AsyncSession, envelope: Envelope, event: ReviewStepChangedV1 | ReviewReopenedV1
) -> None:
    """Keep each commune's posting period: learnt when it is posted, dropped when it moves on."""
    occasion = calendar().posting
    key = (col(PostingPeriod.round_id) == event.round_id,
           col(PostingPeriod.commune_code) == event.commune_code)  # fmt: skip
    posted = isinstance(event, ReviewStepChangedV1) and event.to_state == ReviewState.posted
    if not posted or occasion is None:
        await session.exec(
            delete(PostingPeriod).where(*key, col(PostingPeriod.sequence) < envelope.sequence)
        )
        return
    assert isinstance(event, ReviewStepChangedV1)  # a reopening never leads to posted
    posted_on = event.posting_from or delivery_service.local_day(event.at)
    ends_on = event.posting_until
    if ends_on is None:  # a step published before the event carried the posting's days
        assert occasion.fallback_posting_period_days is not None
        ends_on = posted_on + timedelta(days=occasion.fallback_posting_period_days - 1)
    values = {
        "round_id": event.round_id,
        "commune_code": event.commune_code,
        "unit_path": list(event.unit_path),
        "posted_on": posted_on,
        "ends_on": ends_on,
        "sequence": envelope.sequence,
    }
    insert = insert_for(session, table_of(PostingPeriod)).values(**values)
    table = table_of(PostingPeriod)
    await session.exec(
        insert.on_conflict_do_update(
            index_elements=[table.c.round_id, table.c.commune_code],
            set_={k: insert.excluded[k] for k in ("unit_path", "posted_on", "ends_on", "sequence")},
            where=table.c.sequence < insert.excluded.sequence,
        )
    )
