"""Approved or provisional: figures follow each commune's review and the province's approval."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.handlers import consumer
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    ProvinceApprovedV1,
    ReviewReopenedV1,
    ReviewState,
    ReviewStepChangedV1,
)
from kit.messaging import IncomingMessage

ROUND = UUID("00000000-0000-4000-8000-000000000003")  # the round of `assessment()`
TICH_SON = ["26", "243", "08707"]
DINH_TRUNG = ["26", "243", "08710"]
QUANG_SON = ["26", "246", "08764"]
AT = datetime(2024, 12, 1, tzinfo=UTC)
AsRole = Callable[..., httpx.AsyncClient]


def _message(event: Event, subject: str, sequence: int = 1) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=sequence, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def step(path: list[str], to_state: ReviewState, version: int) -> Event:
    order = list(ReviewState)
    return ReviewStepChangedV1(
        round_id=ROUND,
        commune_code=path[-1],
        province_code=path[0],
        unit_path=path,
        from_state=order[max(0, order.index(to_state) - 1)],
        to_state=to_state,
        actor="officer",
        at=AT + timedelta(hours=version),
        version=version,
    )


def reopened(path: list[str], version: int, *, withdrawn: bool) -> Event:
    return ReviewReopenedV1(
        round_id=ROUND,
        commune_code=path[-1],
        province_code=path[0],
        unit_path=path,
        from_state=ReviewState.approved,
        to_state=ReviewState.open,
        actor="admin",
        at=AT + timedelta(days=2),
        reason="Objection upheld",
        province_approval_withdrawn=withdrawn,
        version=version,
    )


async def _approve_all(handle: Any, paths: list[list[str]]) -> None:
    for path in paths:
        for version, state in enumerate(list(ReviewState)[1:], start=2):
            await handle(_message(step(path, state, version), f"review:{path[-1]}", version))


def _status(answer: httpx.Response) -> tuple[str, int, int]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["status"], body["approved_communes"], body["communes"]


async def test_figures_go_provisional_approved_and_provisional_again_after_reopening(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: Callable[..., httpx.AsyncClient]
) -> None:
    handle = consumer(sessionmaker)
    for path in (TICH_SON, DINH_TRUNG, QUANG_SON):
        survey = assessment(assessment_id=uuid4(), commune_code=path[-1], unit_path=path)
        await handle(_message(survey, str(survey.assessment_id)))
    admin = as_role(Role.ADMIN)

    async def statuses() -> dict[str, tuple[str, int, int]]:
        units = ("26", "243", "246", "08707", "08710")
        found = {
            unit: _status(await admin.get(f"/api/v1/figures/{ROUND}/{unit}")) for unit in units
        }
        children = (await admin.get(f"/api/v1/figures/{ROUND}/26/children")).json()["items"]
        for child in children:
            listed = (child["status"], child["approved_communes"], child["communes"])
            assert listed == found[child["unit_code"]]
        return found

    assert await statuses() == {
        "26": ("provisional", 0, 3),
        "243": ("provisional", 0, 2),
        "246": ("provisional", 0, 1),
        "08707": ("provisional", 0, 1),
        "08710": ("provisional", 0, 1),
    }

    await _approve_all(handle, [TICH_SON, DINH_TRUNG])
    assert await statuses() == {
        "26": ("provisional", 2, 3),  # the province has not approved
        "243": ("approved", 2, 2),
        "246": ("provisional", 0, 1),
        "08707": ("approved", 1, 1),
        "08710": ("approved", 1, 1),
    }

    await _approve_all(handle, [QUANG_SON])
    approval = ProvinceApprovedV1(
        round_id=ROUND, province_code="26", communes=3, actor="province", at=AT + timedelta(days=1)
    )
    await handle(_message(approval, "approval:26"))
    assert (await statuses())["26"] == ("approved", 3, 3)

    await handle(_message(reopened(TICH_SON, 5, withdrawn=True), "review:08707", 5))
    assert await statuses() == {
        "26": ("provisional", 2, 3),
        "243": ("provisional", 1, 2),
        "246": ("approved", 1, 1),
        "08707": ("provisional", 0, 1),
        "08710": ("approved", 1, 1),
    }


async def test_a_late_older_step_does_not_undo_a_newer_one(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: Callable[..., httpx.AsyncClient]
) -> None:
    handle = consumer(sessionmaker)
    survey = assessment(assessment_id=uuid4(), commune_code="08707", unit_path=TICH_SON)
    await handle(_message(survey, str(survey.assessment_id)))
    await handle(_message(step(TICH_SON, ReviewState.approved, 4), "review:08707", 4))
    await handle(_message(step(TICH_SON, ReviewState.posted, 3), "review:08707", 3))

    answer = await as_role(Role.ADMIN).get(f"/api/v1/figures/{ROUND}/08707")

    assert _status(answer) == ("approved", 1, 1)


async def test_a_withdrawal_before_the_approval_it_follows_arrives_still_withdraws_it(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: Callable[..., httpx.AsyncClient]
) -> None:
    """The reopening happened after the approval; the events arrive the other way round."""
    handle = consumer(sessionmaker)
    survey = assessment(assessment_id=uuid4(), commune_code="08707", unit_path=TICH_SON)
    await handle(_message(survey, str(survey.assessment_id)))
    await handle(_message(reopened(TICH_SON, 5, withdrawn=True), "review:08707", 5))
    approval = ProvinceApprovedV1(
        round_id=ROUND, province_code="26", communes=1, actor="province", at=AT + timedelta(days=1)
    )
    await handle(_message(approval, "approval:26"))

    answer = await as_role(Role.ADMIN).get(f"/api/v1/figures/{ROUND}/26")

    assert _status(answer)[0] == "provisional"
