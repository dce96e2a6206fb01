"""Requesting a recalculation: of a round the service knows, within the requester's units."""

from collections.abc import Callable
from uuid import UUID, uuid4

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import ASSESSMENT_ID, assessment
from indicators.handlers import consumer
from kit.auth import Role
from kit.contracts import Envelope
from kit.errors import PROBLEM_JSON
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]


async def surveyed_round(sessionmaker: async_sessionmaker[AsyncSession]) -> UUID:
    """A round the service has heard of: one survey of it has arrived."""
    event = assessment()
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=str(ASSESSMENT_ID))
    await consumer(sessionmaker)(
        IncomingMessage(
            body=envelope.model_dump_json().encode(),
            message_id=str(envelope.id),
            type=envelope.type,
            correlation_id=None,
        )
    )
    return event.round_id


async def test_an_unknown_round_is_refused_naming_round_id(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await surveyed_round(sessionmaker)
    unknown = uuid4()

    response = await as_role(Role.ADMIN).post(
        "/api/v1/recalculations", json={"round_id": str(unknown)}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert [error["loc"] for error in problem["errors"]] == [["body", "round_id"]]
    assert str(unknown) in problem["detail"]


async def test_a_job_carries_the_requesters_unit_scope(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    round_id = str(await surveyed_round(sessionmaker))
    admin = as_role(Role.ADMIN)

    by_officer = await as_role(Role.PROVINCE_OFFICER, "26").post(
        "/api/v1/recalculations", json={"round_id": round_id}
    )
    by_admin = await admin.post("/api/v1/recalculations", json={"round_id": round_id})

    assert (by_officer.status_code, by_admin.status_code) == (202, 202)
    assert (by_officer.json()["unit_scope"], by_admin.json()["unit_scope"]) == (["26"], None)
    read = await admin.get(f"/api/v1/recalculations/{by_officer.json()['id']}")
    assert read.json()["unit_scope"] == ["26"]
    assert read.json()["round_id"] == round_id
