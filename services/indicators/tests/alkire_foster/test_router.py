"""Alkire–Foster measures through the API, over households fed to the consumer, computed by hand
from the deprivations each was given."""

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid5

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.handlers import consumer
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import Device, Latrine, RoundOpenedV1, WaterSource
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]
NS = UUID("00000000-0000-4000-8000-00000000afaf")
ROUND = uuid5(NS, "round")
# Deprived in: telecom_use, information_devices, domestic_water, hygienic_latrine (4 of 12).
FOUR = {
    "internet_use": False,
    "devices": [],
    "water_source": WaterSource.surface_water,
    "latrine": Latrine.none,
}
# telecom_use, information_devices, domestic_water: exactly 3/12.
THREE = {"internet_use": False, "devices": [], "water_source": WaterSource.surface_water}
TWO = {"internet_use": False, "devices": []}
NONE: dict[str, Any] = {"devices": [Device.tv]}


def _message(event: Event) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject="s")
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], profiles: list[dict[str, Any]]
) -> None:
    handle = consumer(sessionmaker)
    opened = RoundOpenedV1(
        round_id=ROUND,
        year=2024,
        kind="periodic",
        reference_date=date(2024, 11, 1),
        standard_id="VN-2022-2025",
        name="2024",
    )
    await handle(_message(opened))
    for number, profile in enumerate(profiles):
        survey = assessment(
            assessment_id=uuid5(NS, f"a{number}"),
            household_id=uuid5(NS, f"h{number}"),
            household_code=f"AF-{number}",
            round_id=ROUND,
            **profile,
        )
        await handle(_message(survey))


async def _af(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get(f"/api/v1/alkire-foster/{ROUND}/243", params=params)


async def test_measures_of_a_district_by_hand(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _seed(sessionmaker, [FOUR, THREE, TWO, NONE])
    response = await _af(as_role(Role.ADMIN))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["official_statistic"] is False
    assert answer["k"] == "1/4"
    assert (answer["households"], answer["poor"]) == (4, 2)  # exactly 3/12 is poor
    assert answer["H"] == pytest.approx(2 / 4)
    assert answer["A"] == pytest.approx((4 / 12 + 3 / 12) / 2)
    assert answer["M0"] == pytest.approx((4 / 12 + 3 / 12) / 4)
    by_key = {item["key"]: item for item in answer["indicators"]}
    assert by_key["telecom_use"]["censored_headcount"] == pytest.approx(2 / 4)
    assert by_key["hygienic_latrine"]["censored_headcount"] == pytest.approx(1 / 4)
    assert by_key["telecom_use"]["contribution"] == pytest.approx((1 / 12 * 2 / 4) / (7 / 48))
    assert sum(item["contribution"] for item in answer["indicators"]) == pytest.approx(1)
    assert answer["disclosure"] is None


async def test_with_no_poor_household_a_and_contributions_are_null(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _seed(sessionmaker, [TWO, NONE])
    answer = (await _af(as_role(Role.ADMIN))).json()
    assert (answer["H"], answer["M0"], answer["A"]) == (0, 0, None)
    assert {item["contribution"] for item in answer["indicators"]} == {None}


async def test_the_cut_off_and_weights_are_parameters(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _seed(sessionmaker, [FOUR, THREE, TWO, NONE])
    client = as_role(Role.ADMIN)
    assert (await _af(client, k="4/12")).json()["poor"] == 1
    keys = [item["key"] for item in (await _af(client)).json()["indicators"]]
    heavy = ",".join(
        f"{key}:{'1/2' if key == 'telecom_use' else '1/22'}" for key in keys
    )  # telecom use alone reaches k = 1/2
    answer = (await _af(client, k="0.5", weights=heavy)).json()
    assert answer["poor"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"k": "0"}, "k"),
        ({"k": "three"}, "k"),
        ({"weights": "telecom_use:1"}, "weights"),
        ({"weights": "nothing:1"}, "weights"),
    ],
)
async def test_bad_parameters_are_refused_naming_the_field(
    sessionmaker: async_sessionmaker[AsyncSession],
    as_role: AsRole,
    params: dict[str, str],
    field: str,
) -> None:
    await _seed(sessionmaker, [FOUR])
    response = await _af(as_role(Role.ADMIN), **params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", field]


async def test_analysts_get_measures_from_perturbed_counts(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _seed(sessionmaker, [FOUR, THREE, TWO, NONE] * 3)
    answer = (await _af(as_role(Role.MINISTRY_ANALYST))).json()
    assert answer["disclosure"]["method"] == "cell_key"
    figures = await as_role(Role.MINISTRY_ANALYST).get(f"/api/v1/figures/{ROUND}/243")
    # The households counted are the figures' surveyed households, perturbed alike.
    assert answer["households"] == figures.json()["total"]["households"]["surveyed"]


async def test_a_unit_outside_the_scope_is_not_found(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await _seed(sessionmaker, [FOUR])
    assert (await _af(as_role(Role.PROVINCE_OFFICER, "01"))).status_code == 404
