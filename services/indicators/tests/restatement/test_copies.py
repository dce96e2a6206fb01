"""The consumer's copies for restatement: the crosswalk and each household's current commune."""

from datetime import date
from uuid import UUID

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.handlers import consumer
from indicators.restatement.models import HouseholdUnitCopy, UnitSuccessionCopy
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    HouseholdRegisteredV1,
    HouseholdsRegisteredV1,
    HouseholdUpdatedV1,
    SuccessionRelation,
    UnitSuccession,
    UnitSuccessionsRecordedV1,
)
from kit.messaging import IncomingMessage

HOUSEHOLD = UUID("00000000-0000-4000-8000-0000000000c1")
OLD, NEW = date(2008, 8, 1), date(2025, 7, 1)


def message(event: Event, sequence: int = 1) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=sequence, subject="s")
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def edge(old: str, new: str, relation: SuccessionRelation) -> UnitSuccession:
    return UnitSuccession(
        predecessor_code=old,
        predecessor_valid_from=OLD,
        successor_code=new,
        successor_valid_from=NEW,
        successor_level="commune",
        successor_unit_path=["25", new],
        successor_area=None,
        relation=relation,
    )


def successions(*edges: UnitSuccession) -> Event:
    return UnitSuccessionsRecordedV1(
        source="vietnamadminunits 1.0.4",
        effective=NEW,
        predecessor_province_code="26",
        successions=list(edges),
    )


def household(event_type: type[HouseholdRegisteredV1], path: list[str], version: int) -> Event:
    return event_type(
        household_id=HOUSEHOLD,
        household_code="26-08707-0001",
        commune_code=path[-1],
        unit_path=path,
        village="Thôn 1",
        version=version,
    )


async def edges(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        rows = (await session.exec(select(UnitSuccessionCopy))).all()
    return sorted((r.predecessor_code, r.successor_key, r.relation) for r in rows)


async def test_a_province_crosswalk_loaded_again_replaces_the_copy_and_an_older_one_is_ignored(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    handle = consumer(sessionmaker)
    first = successions(edge("08707", "08707", SuccessionRelation.whole))
    second = successions(
        edge("08707", "08707", SuccessionRelation.partial),
        edge("08707", "08773", SuccessionRelation.partial),
    )
    await handle(message(first, sequence=1))
    await handle(message(first, sequence=1))  # repeated
    assert await edges(sessionmaker) == [("08707", "25/08707", "whole")]

    await handle(message(second, sequence=2))
    await handle(message(first, sequence=1))  # older, late

    assert await edges(sessionmaker) == [
        ("08707", "25/08707", "partial"),
        ("08707", "25/08773", "partial"),
    ]


async def current(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[str, str, int]:
    async with sessionmaker() as session:
        copy = await session.get(HouseholdUnitCopy, HOUSEHOLD)
    assert copy is not None
    return copy.commune_code, copy.unit_key, copy.version


async def test_the_newest_registry_version_of_a_household_wins(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    handle = consumer(sessionmaker)
    await handle(message(household(HouseholdRegisteredV1, ["26", "243", "08707"], 1)))
    await handle(message(household(HouseholdUpdatedV1, ["25", "08773"], 3)))
    await handle(message(household(HouseholdUpdatedV1, ["25", "08707"], 2)))  # older, late

    assert await current(sessionmaker) == ("08773", "25/08773", 3)


async def test_in_one_batch_the_newest_version_wins_whatever_the_order(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await consumer(sessionmaker).handle_batch(
        [
            message(household(HouseholdUpdatedV1, ["25", "08773"], 3)),
            message(household(HouseholdUpdatedV1, ["25", "08707"], 2)),
            message(household(HouseholdRegisteredV1, ["26", "243", "08707"], 1)),
        ]
    )

    assert await current(sessionmaker) == ("08773", "25/08773", 3)


async def test_an_imports_registrations_in_one_message_are_recorded_as_single_events_would_be(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    registered = household(HouseholdRegisteredV1, ["26", "243", "08707"], 1)
    assert isinstance(registered, HouseholdRegisteredV1)
    await consumer(sessionmaker).handle_batch(
        [
            message(household(HouseholdUpdatedV1, ["25", "08773"], 2)),
            message(HouseholdsRegisteredV1(households=[registered])),  # older, late
        ]
    )
    assert await current(sessionmaker) == ("08773", "25/08773", 2)

    other = registered.model_copy(update={"household_id": UUID(int=7)})
    await consumer(sessionmaker)(message(HouseholdsRegisteredV1(households=[other])))
    async with sessionmaker() as session:
        copy = await session.get(HouseholdUnitCopy, UUID(int=7))
    assert copy is not None
    assert (copy.commune_code, copy.unit_key) == ("08707", "26/243/08707")
