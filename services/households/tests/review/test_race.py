"""Two officers moving the same commune at the same moment: one step wins, the other is told the
state it left (409). On PostgreSQL, where the requests really run side by side."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.config import Settings
from households.migrate import migrate
from households.review.models import ReviewStep
from kit import testing
from kit.contracts.households import ReviewState

from .conftest import POSTING, Surveyor, Walker, review_url

pytestmark = pytest.mark.infra


@pytest.fixture
async def database_url(seeded_database: Path) -> AsyncIterator[str]:
    testing.require_infra()
    url = await testing.create_database("households_review")
    try:
        await migrate(Settings(DATABASE_URL=url, LOG_JSON=False, LOG_LEVEL="WARNING"))
        yield url
    finally:
        await testing.drop_database(url)


@pytest.mark.parametrize("target", [ReviewState.surveyed, ReviewState.posted])
async def test_of_two_concurrent_steps_one_wins(
    client: httpx.AsyncClient,
    round_id: str,
    surveyed: Surveyor,
    walk: Walker,
    sessionmaker: async_sessionmaker[AsyncSession],
    target: ReviewState,
) -> None:
    household = await surveyed()
    url = review_url(round_id)
    if target is ReviewState.posted:
        await walk(ReviewState.surveyed)
        meeting = {
            "village": "Thôn 1",
            "held_on": "2024-11-10",
            "attendance": 2,
            "agreements": [{"household_id": household["id"], "agreeing": 2}],
        }
        assert (await client.post(f"{url}/meetings", json=meeting)).status_code == 201
    body = {"to": target.value, **POSTING}

    answers = await asyncio.gather(
        *(client.post(f"{url}/review/steps", json=body) for _ in range(2))
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    async with sessionmaker() as session:
        steps = (await session.exec(select(ReviewStep.to_state))).all()
    assert steps.count(target) == 1
