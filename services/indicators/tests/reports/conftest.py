"""A synthetic province for the report tests, fed through the indicators consumer."""

import random
from datetime import date
from uuid import UUID, uuid5

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.handlers import consumer
from kit.contracts import Envelope, Event
from kit.contracts.households import Area, PopulationRecordedV1
from kit.messaging import IncomingMessage
from synthetic.events import assessment_recorded
from synthetic.generator import Commune, generate

ROUND = UUID("00000000-0000-4000-8000-0000000000c1")  # reference date 1 Nov 2024
EARLIER = UUID("00000000-0000-4000-8000-0000000000c0")  # 1 Nov 2023: the previous round


def _message(event: Event, subject: str) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


@pytest.fixture
async def province(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Province 26, three districts of three communes (some tiny), each with a population; one
    commune of district 263 without one (its district's rates are withheld)."""
    rng = random.Random(11)
    messages, paths = [], {}
    for d in range(3):
        district = f"26{d + 1}"
        for c in range(3):
            commune = f"{district}{c:02d}"
            urban = c == 0
            size = rng.choice([3, 5, 30, 60])
            paths[commune] = ["26", district, commune]
            items = list(generate([Commune(commune, urban)], households=size, seed=d * 10 + c))
            # The generator is rarely cut off in both information indicators: every 7th is.
            items = [
                item._replace(
                    assessment=item.assessment.model_copy(
                        update={"internet_use": False, "devices": []}
                    )
                )
                if index % 7 == 3
                else item
                for index, item in enumerate(items)
            ]
            for item in items:
                event = assessment_recorded(item, round_id=ROUND, unit_path=paths[commune])
                messages.append(_message(event, str(event.assessment_id)))
            if commune == "26302":
                continue
            population = PopulationRecordedV1(
                round_id=ROUND,
                unit_code=commune,
                unit_path=paths[commune],
                area=Area.urban if urban else Area.rural,
                resident_households=size * 3,
                resident_persons=sum(len(item.assessment.members) for item in items) * 3,
            )
            messages.append(_message(population, f"population:{commune}"))
    handle = consumer(sessionmaker)
    for start in range(0, len(messages), 200):
        await handle.handle_batch(messages[start : start + 200])
    return paths


@pytest.fixture
async def new_map_province(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Province 25 on the two-level map: communes directly under it."""
    messages, communes = [], []
    for c in range(3):
        commune = f"250{c:02d}"
        communes.append(commune)
        path = ["25", commune]
        items = list(generate([Commune(commune, c == 0)], households=20, seed=40 + c))
        for item in items:
            event = assessment_recorded(item, round_id=ROUND, unit_path=path)
            messages.append(_message(event, str(event.assessment_id)))
        population = PopulationRecordedV1(
            round_id=ROUND,
            unit_code=commune,
            unit_path=path,
            area=Area.urban if c == 0 else Area.rural,
            resident_households=60,
            resident_persons=240,
        )
        messages.append(_message(population, f"population:{commune}"))
    await consumer(sessionmaker).handle_batch(messages)
    return communes


@pytest.fixture
async def earlier_round(
    sessionmaker: async_sessionmaker[AsyncSession], province: dict[str, list[str]]
) -> UUID:
    """The province's previous periodic round (2023): the same household codes, so the same
    households, as far as a commune's count of each round reaches (the rest were gone by 2024 or
    first seen in it), surveyed with other facts, so that they change class."""
    rng = random.Random(23)
    day = date(2023, 11, 1)
    messages = []
    for commune, path in paths_in_order(province):
        size = rng.choice([4, 20, 40])
        communes = [Commune(commune, commune.endswith("00"))]
        for item in generate(communes, households=size, seed=7, reference_date=day):
            event = assessment_recorded(item, round_id=EARLIER, unit_path=path, reference_date=day)
            event = event.model_copy(
                update={"assessment_id": uuid5(EARLIER, item.household.household_code)}
            )
            messages.append(_message(event, str(event.assessment_id)))
    handle = consumer(sessionmaker)
    for start in range(0, len(messages), 200):
        await handle.handle_batch(messages[start : start + 200])
    return EARLIER


def paths_in_order(paths: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    return sorted(paths.items())
