"""Builders for the left-behind tests: surveys and support events fed to the service's consumer
as the households service would publish them."""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid5

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.db import outbox
from indicators.handlers import consumer
from indicators.left_behind.service import today
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Device,
    HouseholdRegisteredV1,
    RoundOpenedV1,
    SupportGiven,
    SupportKind,
    SupportRecordedV1,
    SupportWithdrawnV1,
)
from kit.messaging import IncomingMessage

NS = UUID("00000000-0000-4000-8000-0000000012b1")
LEFT_BEHIND = "indicators.household.left_behind.v1"
# Far enough back that supports can be dated on both sides of it, whatever the day the tests run.
REFERENCE = today() - timedelta(days=120)
ROUND = uuid5(NS, "round")
PATHS = {
    "08707": ["26", "243", "08707"],
    "08710": ["26", "243", "08710"],
    "08773": ["26", "244", "08773"],
}


def envelope(event: Event, *, subject: str = "s", sequence: int = 1) -> Envelope:
    return Envelope.wrap(event, producer="households", subject=subject, sequence=sequence)


def message(wrapped: Envelope) -> IncomingMessage:
    return IncomingMessage(
        body=wrapped.model_dump_json().encode(),
        message_id=str(wrapped.id),
        type=wrapped.type,
        correlation_id=None,
    )


async def feed(sessionmaker: async_sessionmaker[AsyncSession], *envelopes: Envelope) -> None:
    """Deliver the envelopes one message at a time, failing on any that is not handled."""
    handle = consumer(sessionmaker)
    for wrapped in envelopes:
        await handle(message(wrapped))


def opened(round_id: UUID = ROUND, reference_date: date = REFERENCE, year: int = 2026) -> Envelope:
    return envelope(
        RoundOpenedV1(
            round_id=round_id,
            year=year,
            kind="periodic",
            reference_date=reference_date,
            standard_id="VN-2022-2025",
            name=str(year),
        )
    )


def survey(
    name: str,
    *,
    version: int = 1,
    commune: str = "08707",
    round_id: UUID = ROUND,
    reference_date: date = REFERENCE,
    year: int = 2026,
    **facts: Any,
) -> Envelope:
    """The household `name`'s survey in the round; deprived in nothing unless `facts` say so."""
    event = assessment(
        assessment_id=uuid5(NS, f"assessment-{name}-{round_id}"),
        household_id=household(name),
        household_code=f"HH-{name}",
        round_id=round_id,
        round_year=year,
        reference_date=reference_date,
        commune_code=commune,
        unit_path=PATHS[commune],
        **facts,
    )
    return envelope(event, subject=str(event.assessment_id), sequence=version)


def household(name: str) -> UUID:
    return uuid5(NS, f"household-{name}")


def registered(name: str, village: str, commune: str = "08707") -> Envelope:
    return envelope(
        HouseholdRegisteredV1(
            household_id=household(name),
            household_code=f"HH-{name}",
            commune_code=commune,
            unit_path=PATHS[commune],
            village=village,
            version=1,
        )
    )


OFFLINE = {"internet_use": False}  # deprived in telecom use
NO_DEVICES = {"devices": []}  # deprived in information devices
ONLINE = {"internet_use": True, "devices": [Device.smartphone]}


def support(name: str, given_on: date, *, number: int = 0, commune: str = "08707") -> SupportGiven:
    return SupportGiven(
        support_id=support_id(name, number),
        household_id=household(name),
        household_code=f"HH-{name}",
        commune_code=commune,
        unit_path=PATHS[commune],
        kind=SupportKind.device_given,
        device=Device.smartphone,
        given_on=given_on,
        team_id=uuid5(NS, "team"),
        member_id=uuid5(NS, "member"),
    )


def support_id(name: str, number: int = 0) -> UUID:
    return uuid5(NS, f"support-{name}-{number}")


def recorded(*records: SupportGiven) -> Envelope:
    return envelope(SupportRecordedV1(records=list(records)), subject="batch")


def withdrawn(name: str, number: int = 0, commune: str = "08707") -> Envelope:
    return envelope(
        SupportWithdrawnV1(
            support_id=support_id(name, number),
            household_id=household(name),
            commune_code=commune,
            unit_path=PATHS[commune],
            reason="entered in error",
        ),
        subject=str(support_id(name, number)),
    )


async def left_behind_events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Any]:
    """Every `indicators.household.left_behind.v1` staged so far, oldest first."""
    async with sessionmaker() as session:
        statement = (
            select(outbox.c.envelope)
            .where(outbox.c.type == LEFT_BEHIND)
            .order_by(col(outbox.c.position))
        )
        return list((await session.exec(statement)).all())


def codes(items: Sequence[dict[str, Any]]) -> list[str]:
    return [item["household_code"] for item in items]
