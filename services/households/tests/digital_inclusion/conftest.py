"""Builders for the digital-inclusion tests: a team of Xã Quang Sơn with one member, households
registered there, and the outbox's support messages."""

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox

QUANG_SON = "08764"  # Xã Quang Sơn, Huyện Lập Thạch (246), Tỉnh Vĩnh Phúc (26), until 2025
HOP_LY = "08770"  # Xã Hợp Lý, same district: another commune
TEAM_START = date(2024, 1, 1)  # both communes were in force


def team_json(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Tổ công nghệ số cộng đồng",
        "villages": ["Thôn Đồng Giang", "Thôn 2"],
        "active_from": TEAM_START.isoformat(),
    } | overrides


def member_json(**overrides: Any) -> dict[str, Any]:
    return {
        "full_name": "Trần Thị Lan",
        "role": "Tổ trưởng",
        "phone": "0912 345 678",
        "email": "lan.tt@example.vn",
    } | overrides


async def team_with_member(
    client: httpx.AsyncClient, commune: str = QUANG_SON
) -> tuple[dict[str, Any], dict[str, Any]]:
    team = await client.post(f"/api/v1/communes/{commune}/digital-teams", json=team_json())
    assert team.status_code == 201, team.text
    url = f"/api/v1/communes/{commune}/digital-teams/{team.json()['id']}/members"
    member = await client.post(url, json=member_json())
    assert member.status_code == 201, member.text
    return team.json(), member.json()


def smartphone(member_id: str, given_on: date | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "device_given",
        "device": "smartphone",
        "given_on": (given_on or date.today()).isoformat(),
        "member_id": member_id,
        "note": "Máy do doanh nghiệp tài trợ.",
    } | overrides


async def staged(
    sessionmaker: async_sessionmaker[AsyncSession], type_: str
) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        statement = (
            select(outbox.c.envelope).where(outbox.c.type == type_).order_by(col(outbox.c.position))
        )
        return list((await session.exec(statement)).all())


@pytest.fixture
def support_url() -> Callable[[str], str]:
    return lambda household_id: f"/api/v1/households/{household_id}/support"


def household_json(**overrides: Any) -> dict[str, Any]:
    return {
        "household_code": f"DI-{uuid4().hex[:8].upper()}",
        "commune_code": QUANG_SON,
        "village": "Thôn Đồng Giang",
        "head_name": "Nguyễn Văn Hùng",
    } | overrides


async def register(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/households", json=household_json(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def open_round(client: httpx.AsyncClient, reference_date: date) -> str:
    round_in = {
        "year": reference_date.year,
        "reference_date": reference_date.isoformat(),
        "standard_id": "VN-2022-2025",
    }
    response = await client.post("/api/v1/rounds", json=round_in)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def survey_json() -> dict[str, Any]:
    """A one-person household without internet or any information device."""
    return {
        "members": [
            {
                "full_name": "Nguyễn Văn Hùng",
                "birth_date": "1979-03-15",
                "sex": "male",
                "relation_to_head": "head",
                "working_status": "self_employed",
                "has_health_insurance": True,
                "highest_qualification": "upper_secondary",
            }
        ],
        "dwelling": {"floor_area_m2": 40.0},
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": False,
        "devices": [],
        "income_score_a": 120,
    }
