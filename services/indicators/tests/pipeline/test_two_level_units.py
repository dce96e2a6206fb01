"""Figures of the two-level tree in force since July 2025: a path of province and commune."""

from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.handlers import consumer
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import Area, PopulationRecordedV1
from kit.messaging import IncomingMessage

ROUND = UUID("00000000-0000-4000-8000-000000000003")
PATH = ["25", "08707"]  # Phường Vĩnh Yên, Phú Thọ: no district


def message(event: Event, subject: str) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


async def test_a_commune_under_its_province_has_figures(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: Any
) -> None:
    handle = consumer(sessionmaker)
    assessment_id = uuid4()
    survey = assessment(assessment_id=assessment_id, commune_code=PATH[-1], unit_path=PATH)
    await handle(message(survey, str(assessment_id)))
    population = PopulationRecordedV1(
        round_id=ROUND,
        unit_code=PATH[-1],
        unit_path=PATH,
        area=Area.urban,
        resident_households=10,
        resident_persons=40,
    )
    await handle(message(population, "population:08707"))
    admin: httpx.AsyncClient = as_role(Role.ADMIN)

    commune = await admin.get(f"/api/v1/figures/{ROUND}/08707")
    province = await admin.get(f"/api/v1/figures/{ROUND}/25/children")

    assert commune.status_code == 200, commune.text
    assert commune.json()["level"] == "commune"
    assert commune.json()["total"]["households"]["surveyed"] == 1
    assert [unit["unit_code"] for unit in province.json()["items"]] == ["08707"]
