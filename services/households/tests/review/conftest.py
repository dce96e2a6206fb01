"""Fixtures of the review tests: a round, surveyed households of Quang Sơn, and ways to walk or
set a commune's review."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from households.review.models import CommuneReview
from kit.contracts.households import ReviewState

REFERENCE_DATE = "2024-11-01"
QUANG_SON = "08764"  # Xã Quang Sơn, Huyện Lập Thạch (246), Tỉnh Vĩnh Phúc (26)
TICH_SON = "08707"  # another commune of Vĩnh Phúc, district 243
VINH_PHUC = "26"
POSTING = {"posting_from": "2024-11-20", "posting_until": "2024-11-27"}


def survey_json(**overrides: Any) -> dict[str, Any]:
    member = {
        "full_name": "Nguyễn Văn Hùng",
        "birth_date": "1979-03-15",
        "sex": "male",
        "relation_to_head": "head",
        "working_status": "self_employed",
        "has_health_insurance": True,
        "highest_qualification": "upper_secondary",
    }
    return {
        "members": [member],
        "dwelling": {"floor_area_m2": 40.0},
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": True,
        "devices": ["tv"],
        "income_score_a": 180,
    } | overrides


@pytest.fixture
async def round_id(client: httpx.AsyncClient) -> str:
    round_in = {"year": 2024, "reference_date": REFERENCE_DATE, "standard_id": "VN-2022-2025"}
    response = await client.post("/api/v1/rounds", json=round_in)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


Surveyor = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def surveyed(client: httpx.AsyncClient, round_id: str) -> Surveyor:
    """Register a household in a commune and record its survey in the round."""
    count = 0

    async def make(commune: str = QUANG_SON) -> dict[str, Any]:
        nonlocal count
        count += 1
        household_in = {
            "household_code": f"REVIEW-{commune}-{count}",
            "commune_code": commune,
            "village": "Thôn 1",
        }
        registered = await client.post("/api/v1/households", json=household_in)
        assert registered.status_code == 201, registered.text
        household: dict[str, Any] = registered.json()
        url = f"/api/v1/households/{household['id']}/assessments/{round_id}"
        recorded = await client.put(url, json=survey_json())
        assert recorded.status_code == 201, recorded.text
        household["survey_url"] = url
        return household

    return make


def meeting_json(
    household_id: str, *, agreeing: int, attendance: int, held_on: str = "2024-11-10"
) -> dict[str, Any]:
    """A village meeting of Thôn 1 at which `agreeing` of `attendance` agreed on the household."""
    return {
        "village": "Thôn 1",
        "held_on": held_on,
        "attendance": attendance,
        "agreements": [{"household_id": household_id, "agreeing": agreeing}],
    }


def review_url(round_id: str, commune: str = QUANG_SON) -> str:
    return f"/api/v1/rounds/{round_id}/communes/{commune}"


Walker = Callable[..., Awaitable[None]]


@pytest.fixture
def walk(client: httpx.AsyncClient, round_id: str) -> Walker:
    """Take a commune whose households are surveyed through the API up to `until`: marked
    surveyed, every household discussed with full agreement, posted (a past period), approved."""

    async def to(until: ReviewState, commune: str = QUANG_SON) -> None:
        url = review_url(round_id, commune)
        order = [ReviewState.surveyed, ReviewState.posted, ReviewState.approved]
        for state in order[: order.index(until) + 1]:
            body: dict[str, Any] = {"to": state.value}
            if state is ReviewState.posted:
                meetings = await client.get(f"{url}/meetings")
                pending = meetings.json()["not_discussed"]
                if pending:
                    meeting = {
                        "village": "Thôn 1",
                        "held_on": "2024-11-10",
                        "attendance": 10,
                        "agreements": [
                            {"household_id": ref["household_id"], "agreeing": 10} for ref in pending
                        ],
                    }
                    recorded = await client.post(f"{url}/meetings", json=meeting)
                    assert recorded.status_code == 201, recorded.text
                body |= POSTING
            moved = await client.post(f"{url}/review/steps", json=body)
            assert moved.status_code == 200, moved.text

    return to


Setter = Callable[[str, str, ReviewState], Awaitable[None]]


@pytest.fixture
def set_state(sessionmaker: async_sessionmaker[AsyncSession]) -> Setter:
    """Put a commune's review in a state directly (for the write paths' own tests)."""

    async def put(round_id: str, commune: str, state: ReviewState) -> None:
        async with sessionmaker() as session, session.begin():
            session.add(
                CommuneReview(
                    round_id=UUID(round_id),
                    commune_code=commune,
                    province_code=VINH_PHUC,
                    district_code="246",
                    state=state,
                    version=3,
                )
            )

    return put
