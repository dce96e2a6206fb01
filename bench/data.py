"""What the benchmark writes: review rounds, and synthetic households of Vĩnh Phúc (province 26)
from the project's own generator, as the API and the bulk import take them."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from synthetic.generator import Commune, SyntheticHousehold, generate

PROVINCE = "26"
FIRST_REFERENCE_DATE = date(2024, 11, 1)
_rounds = itertools.count()


@dataclass(frozen=True)
class Unit:
    """A commune with its district: the unit path an event carries."""

    province: str
    district: str
    commune: str
    urban: bool

    @property
    def path(self) -> list[str]:
        return [self.province, self.district, self.commune]


async def communes(households_database: str) -> list[Unit]:
    """The province's communes in force on the reference date, with their districts."""
    connection = await asyncpg.connect(households_database)
    try:
        rows = await connection.fetch(
            """
            SELECT code, district_code, area FROM admin_unit
            WHERE province_code = $1 AND level = 'commune'
              AND (valid_to IS NULL OR valid_to >= $2) AND valid_from <= $2
            ORDER BY code
            """,
            PROVINCE,
            FIRST_REFERENCE_DATE,
        )
    finally:
        await connection.close()
    return [
        Unit(PROVINCE, row["district_code"], row["code"], row["area"] == "urban") for row in rows
    ]


@dataclass(frozen=True)
class Round:
    id: str
    reference_date: date


async def open_round(client: httpx.AsyncClient) -> Round:
    """A periodic 2024 round of its own (the next free reference date) under VN-2022-2025."""
    reference = FIRST_REFERENCE_DATE + timedelta(days=next(_rounds))
    response = await client.post(
        "/api/v1/rounds",
        json={
            "year": 2024,
            "kind": "periodic",
            "reference_date": reference.isoformat(),
            "standard_id": "VN-2022-2025",
            "name": f"Benchmark round {reference}",
        },
    )
    response.raise_for_status()
    return Round(response.json()["id"], reference)


def households(
    units: list[Unit], count: int, *, reference_date: date, seed: int, prefix: str
) -> Iterator[SyntheticHousehold]:
    """`count` synthetic households whose codes start with `prefix` (unique per phase)."""
    for item in generate(
        [Commune(unit.commune, unit.urban) for unit in units],
        households=count,
        seed=seed,
        reference_date=reference_date,
    ):
        household = item.household.model_copy(
            update={"household_code": f"{prefix}-{item.household.household_code}"}
        )
        yield item._replace(household=household)


def registration(item: SyntheticHousehold) -> dict[str, Any]:
    return item.household.model_dump(mode="json")


def survey(item: SyntheticHousehold) -> dict[str, Any]:
    return item.assessment.model_dump(mode="json")
