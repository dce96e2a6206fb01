"""Did the help work: random households deprived in the information dimension in a start round,
some supported before the end round, followed to it; the table equals a direct count, and its
identities hold exact and perturbed, for the unit and each child."""

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import uuid5

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Role
from kit.contracts import Envelope
from kit.contracts.households import Device

from .conftest import NS, PATHS, REFERENCE, ROUND, feed, opened, recorded, support, survey

AsRole = Callable[..., httpx.AsyncClient]
END = uuid5(NS, "end-round")
END_REFERENCE = REFERENCE + timedelta(days=90)
URL = f"/api/v1/support-outcomes/{ROUND}/{END}"
# Score A decides the income test: passed, a household is poor or near-poor (by its
# deprivations); failed, it is neither.
POOR_OR_NEAR_POOR, ABOVE = {"income_score_a": 100}, {"income_score_a": 300}
COLUMNS = (
    "deprived_at_start",
    "left_information_deprivation",
    "still_deprived",
    "not_resurveyed",
    "poor_or_near_poor_at_start",
    "left_poverty",
)


def _row(counts: dict[str, int]) -> dict[str, int]:
    return {column: counts.get(column, 0) for column in COLUMNS}


async def _world(
    sessionmaker: async_sessionmaker[AsyncSession], seed: int
) -> dict[str, dict[str, dict[str, int]]]:
    """Random households in three communes; the expected rows per unit, counted directly."""
    rng = random.Random(seed)
    deliveries: list[Envelope] = [opened(), opened(END, END_REFERENCE, 2027)]
    expected: dict[str, dict[str, dict[str, int]]] = {}
    for number in range(60):
        name = f"o{seed}-{number:02d}"
        commune = rng.choice(list(PATHS))
        offline, poor = rng.random() < 0.6, rng.random() < 0.5
        start = {"internet_use": not offline, **(POOR_OR_NEAR_POOR if poor else ABOVE)}
        deliveries.append(survey(name, commune=commune, **start))
        days = [
            REFERENCE + timedelta(days=rng.randint(-20, 110))
            for _ in range(rng.choice([0, 0, 1, 2]))
        ]
        for position, day in enumerate(days):
            deliveries.append(recorded(support(name, day, number=position, commune=commune)))
        fate = rng.choice(["gone", "online", "offline"])
        end_poor = rng.random() < 0.5
        if fate != "gone":
            end = {
                "internet_use": fate == "online",
                "devices": [Device.smartphone],
                **(POOR_OR_NEAR_POOR if end_poor else ABOVE),
            }
            deliveries.append(
                survey(
                    name,
                    commune=commune,
                    round_id=END,
                    reference_date=END_REFERENCE,
                    year=2027,
                    **end,
                )
            )
        if not offline:
            continue  # not deprived at start: not in the table
        group = (
            "supported"
            if any(REFERENCE <= day < END_REFERENCE for day in days)
            else "not_supported"
        )
        cells = {
            "deprived_at_start": 1,
            {
                "gone": "not_resurveyed",
                "online": "left_information_deprivation",
                "offline": "still_deprived",
            }[fate]: 1,
        }
        if poor:
            cells["poor_or_near_poor_at_start"] = 1
            if fate != "gone" and not end_poor:
                cells["left_poverty"] = 1
        for unit in PATHS[commune]:
            rows = expected.setdefault(unit, {})
            for row_name in (group, "total"):
                row = rows.setdefault(row_name, {})
                for column, value in cells.items():
                    row[column] = row.get(column, 0) + value
    rng.shuffle(deliveries[2:])
    await feed(sessionmaker, *deliveries)
    return expected


def _identities(unit: dict[str, Any]) -> None:
    for row in ("supported", "not_supported", "total"):
        cells = unit[row]
        assert cells["deprived_at_start"] == (
            cells["left_information_deprivation"]
            + cells["still_deprived"]
            + cells["not_resurveyed"]
        )
    for column in COLUMNS:
        assert unit["supported"][column] + unit["not_supported"][column] == unit["total"][column]


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_table_is_the_direct_count_and_its_identities_hold(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole, seed: int
) -> None:
    expected = await _world(sessionmaker, seed)
    admin, analyst = as_role(Role.ADMIN), as_role(Role.MINISTRY_ANALYST)
    for unit_code, children in (("26", ["243", "244"]), ("243", ["08707", "08710"])):
        exact = (await admin.get(f"{URL}/{unit_code}")).json()
        assert exact["disclosure"] is None
        for unit in (exact["unit"], *exact["children"]):
            want = expected.get(unit["unit_code"], {})
            for row in ("supported", "not_supported", "total"):
                assert unit[row] == _row(want.get(row, {})), (unit["unit_code"], row)
            _identities(unit)
        assert [c["unit_code"] for c in exact["children"]] == [c for c in children if c in expected]
        perturbed = (await analyst.get(f"{URL}/{unit_code}")).json()
        assert perturbed["disclosure"]["method"] == "cell_key"
        for unit in (perturbed["unit"], *perturbed["children"]):
            _identities(unit)
        # The unit is the sum of its children, perturbed too.
        for column in COLUMNS:
            assert perturbed["unit"]["total"][column] == sum(
                child["total"][column] for child in perturbed["children"]
            )
        # The same households give the same perturbed cells in every answer.
        again = (await analyst.get(f"{URL}/{unit_code}")).json()
        assert again == perturbed


async def test_scope_and_round_order(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _world(sessionmaker, 3)
    officer = as_role(Role.COMMUNE_OFFICER, "08707")
    assert (await officer.get(f"{URL}/08707")).status_code == 200
    assert (await officer.get(f"{URL}/08773")).status_code == 404
    assert (await officer.get(f"{URL}/26")).status_code == 404
    backwards = await as_role(Role.ADMIN).get(f"/api/v1/support-outcomes/{END}/{ROUND}/26")
    assert backwards.status_code == 422
    assert {tuple(e["loc"]) for e in backwards.json()["errors"]} == {
        ("path", "from_round_id"),
        ("path", "to_round_id"),
    }
