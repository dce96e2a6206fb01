"""Transitions through the API: households fed to the consumer in three periodic rounds, the
tables of a district and its communes read back, exact and perturbed, and the drill-down."""

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid5

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.figures.models import RoundRef
from indicators.handlers import consumer
from indicators.transitions import service as transitions_service
from indicators.transitions.movements import (
    AfterOtherClass,
    FirstSeen,
    MovedAndChanged,
    Precedence,
    Returned,
)
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Area,
    Latrine,
    RoundOpenedV1,
    SuccessionRelation,
    UnitSuccession,
    UnitSuccessionsRecordedV1,
    WaterSource,
)
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]
EVERY_PRECEDENCE = [
    Precedence(after_other_class=a, first_seen=f, returned=r, moved_and_changed=m)
    for a, f, r, m in itertools.product(AfterOtherClass, FirstSeen, Returned, MovedAndChanged)
]
NS = UUID("00000000-0000-4000-8000-00000000aaaa")
ROUNDS = {year: uuid5(NS, f"round-{year}") for year in (2022, 2023, 2024)}
REGULAR = uuid5(NS, "regular-2024-12")
PATHS = {"08707": ["26", "243", "08707"], "08710": ["26", "243", "08710"]}
# Each household's (commune, class) per year; None: not surveyed that year.
HISTORIES: dict[str, dict[int, tuple[str, str] | None]] = {
    "stays-poor": {2023: ("08707", "poor"), 2024: ("08707", "poor")},
    "to-near-poor": {2023: ("08707", "poor"), 2024: ("08707", "near_poor")},
    "above": {2023: ("08707", "poor"), 2024: ("08707", "not_poor")},
    "gone": {2023: ("08707", "poor")},
    "moved": {2023: ("08707", "poor"), 2024: ("08710", "poor")},
    "fell-back": {2022: ("08710", "poor"), 2023: ("08710", "not_poor"), 2024: ("08710", "poor")},
    "newly": {2023: ("08710", "not_poor"), 2024: ("08710", "poor")},
    "first-seen": {2024: ("08710", "poor")},
    "from-near-poor": {2023: ("08710", "near_poor"), 2024: ("08710", "poor")},
}


def _survey(name: str, year: int, commune: str, household_class: str) -> Event:
    facts: dict[str, Any] = {
        "assessment_id": uuid5(NS, f"{name}-{year}"),
        "household_id": uuid5(NS, name),
        "household_code": f"26-{commune}-{name}",
        "round_id": ROUNDS[year],
        "round_year": year,
        "reference_date": date(year, 11, 1),
        "commune_code": commune,
        "unit_path": PATHS[commune],
    }
    if household_class == "poor":  # four deprivations
        facts |= {
            "internet_use": False,
            "devices": [],
            "water_source": WaterSource.surface_water,
            "latrine": Latrine.none,
        }
    elif household_class == "not_poor":
        facts["income_score_a"] = 400
    return assessment(**facts)


def _message(event: Event) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=str(uuid5(NS, "s")))
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


@pytest.fixture
async def seeded(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    handle = consumer(sessionmaker)
    for year, round_id in ROUNDS.items():
        opened = RoundOpenedV1(
            round_id=round_id,
            year=year,
            kind="periodic",
            reference_date=date(year, 11, 1),
            standard_id="VN-2022-2025",
            name=f"{year}",
        )
        await handle(_message(opened))
    regular = RoundOpenedV1(
        round_id=REGULAR,
        year=2024,
        kind="regular",
        reference_date=date(2024, 12, 15),
        standard_id="VN-2022-2025",
        name="2024-12",
    )
    await handle(_message(regular))
    for name, history in HISTORIES.items():
        for year, seen in history.items():
            if seen is not None:
                await handle(_message(_survey(name, year, *seen)))


def _url(unit: str = "243", start: int = 2023, end: int = 2024) -> str:
    return f"/api/v1/transitions/{ROUNDS[start]}/{ROUNDS[end]}/{unit}"


async def _get(client: httpx.AsyncClient, url: str, **params: str) -> dict[str, Any]:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.usefixtures("seeded")
async def test_a_districts_poor_table_counts_each_history_in_its_row(as_role: AsRole) -> None:
    answer = await _get(as_role(Role.ADMIN), _url())
    poor = answer["unit"]["poor"]["households"]
    assert poor["start"] == 5
    assert {row: n for row, n in poor["decreases"].items() if n} == {
        "to_near_poor": 1,
        "above_near_poor": 1,
        "other_gone": 1,
        "other_moved_away": 1,
    }
    assert {row: n for row, n in poor["increases"].items() if n} == {
        "fell_back": 1,
        "newly": 2,  # never seen before: newly poor by default
        "from_near_poor": 1,
        "other_moved_in": 1,
    }
    assert poor["end"] == 6
    assert answer["disclosure"] is None


@pytest.mark.usefixtures("seeded")
async def test_children_sum_to_the_unit_and_each_keeps_the_identity(as_role: AsRole) -> None:
    answer = await _get(as_role(Role.ADMIN), _url())
    assert [child["unit_code"] for child in answer["children"]] == ["08707", "08710"]
    for name in ("poor", "near_poor"):
        for counted in ("households", "persons"):
            tables = [child[name][counted] for child in answer["children"]]
            unit = answer["unit"][name][counted]
            for part in ("start", "end", "decreases_total", "increases_total"):
                assert unit[part] == sum(t[part] for t in tables)
            for t in [*tables, unit]:
                assert t["end"] == t["start"] - t["decreases_total"] + t["increases_total"]


@pytest.mark.usefixtures("seeded")
async def test_a_setting_moves_a_household_between_rows_and_keeps_the_identity(
    as_role: AsRole,
) -> None:
    answer = await _get(as_role(Role.ADMIN), _url(), first_seen="other")
    poor = answer["unit"]["poor"]["households"]
    assert poor["increases"]["newly"] == 1
    assert poor["increases"]["other_appeared"] == 1
    assert poor["end"] == 6
    assert answer["precedence"]["first_seen"] == "other"


@pytest.mark.usefixtures("seeded")
async def test_analysts_get_perturbed_tables_that_still_add_up(as_role: AsRole) -> None:
    answer = await _get(as_role(Role.MINISTRY_ANALYST), _url())
    assert answer["disclosure"]["method"] == "cell_key"
    for name in ("poor", "near_poor"):
        for counted in ("households", "persons"):
            unit = answer["unit"][name][counted]
            assert unit["end"] == unit["start"] - unit["decreases_total"] + unit["increases_total"]
            for part in ("start", "end"):
                assert unit[part] == sum(c[name][counted][part] for c in answer["children"])


@pytest.mark.usefixtures("seeded")
async def test_the_drill_down_names_who_fell_back(as_role: AsRole) -> None:
    response = await as_role(Role.PROVINCE_OFFICER, "26").get(
        _url() + "/households", params={"table": "poor", "row": "fell_back"}
    )
    assert response.status_code == 200, response.text
    [household] = response.json()["items"]
    assert household["household_code"] == "26-08710-fell-back"
    assert household["start_class"] == "not_poor"
    assert household["end_class"] == "poor"


@pytest.mark.usefixtures("seeded")
async def test_analysts_may_not_drill_down(as_role: AsRole) -> None:
    response = await as_role(Role.MINISTRY_ANALYST).get(_url() + "/households")
    assert response.status_code == 403


@pytest.mark.usefixtures("seeded")
async def test_rounds_in_the_wrong_order_are_refused_naming_both(as_role: AsRole) -> None:
    response = await as_role(Role.ADMIN).get(_url(start=2024, end=2023))
    assert response.status_code == 422
    locations = [error["loc"] for error in response.json()["errors"]]
    assert locations == [["path", "from_round_id"], ["path", "to_round_id"]]


@pytest.mark.usefixtures("seeded")
async def test_rounds_of_different_kinds_are_refused_naming_both(as_role: AsRole) -> None:
    response = await as_role(Role.ADMIN).get(f"/api/v1/transitions/{ROUNDS[2024]}/{REGULAR}/243")
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 2
    assert "regular" in response.json()["detail"]


@pytest.mark.usefixtures("seeded")
async def test_a_unit_outside_the_scope_is_not_found(as_role: AsRole) -> None:
    response = await as_role(Role.PROVINCE_OFFICER, "01").get(_url())
    assert response.status_code == 404
    response = await as_role(Role.ADMIN).get(_url(unit="99999"))
    assert response.status_code == 404


NEW_ROUND = uuid5(NS, "round-2026")
NEW_COMMUNE = ["25", "08800"]  # both old communes merged whole into one of the 2025 map


@pytest.fixture
async def reformed(seeded: None, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """A 2026 round on the map after July 2025, where 08707 and 08710 are one commune."""
    handle = consumer(sessionmaker)
    crosswalk = UnitSuccessionsRecordedV1(
        source="test crosswalk",
        effective=date(2025, 7, 1),
        predecessor_province_code="26",
        successions=[
            UnitSuccession(
                predecessor_code=old,
                predecessor_valid_from=date(2008, 1, 1),
                successor_code=NEW_COMMUNE[-1],
                successor_valid_from=date(2025, 7, 1),
                successor_level="commune",
                successor_unit_path=NEW_COMMUNE,
                successor_area=Area.rural,
                relation=SuccessionRelation.whole,
            )
            for old in PATHS
        ],
    )
    await handle(_message(crosswalk))
    opened = RoundOpenedV1(
        round_id=NEW_ROUND,
        year=2026,
        kind="periodic",
        reference_date=date(2026, 11, 1),
        standard_id="VN-2022-2025",
        name="2026",
    )
    await handle(_message(opened))
    # Poor in 2024 in 08707 and 08710; in 2026 in the merged commune: no move, one poor stays.
    for name in ("stays-poor", "fell-back"):
        survey = _survey(name, 2024, "08707", "poor").model_copy(
            update={
                "assessment_id": uuid5(NS, f"{name}-2026"),
                "round_id": NEW_ROUND,
                "round_year": 2026,
                "reference_date": date(2026, 11, 1),
                "commune_code": NEW_COMMUNE[-1],
                "unit_path": NEW_COMMUNE,
                "income_score_a": 400 if name == "fell-back" else 100,
            }
        )
        await handle(_message(survey))


@pytest.mark.usefixtures("reformed")
async def test_households_are_carried_onto_the_later_map_through_the_crosswalk(
    as_role: AsRole,
) -> None:
    url = f"/api/v1/transitions/{ROUNDS[2024]}/{NEW_ROUND}/{NEW_COMMUNE[-1]}"
    answer = await _get(as_role(Role.ADMIN), url)
    poor = answer["unit"]["poor"]["households"]
    # 2024's poor of both old communes are the merged commune's start: 6 (see HISTORIES).
    assert poor["start"] == 6
    assert poor["decreases"]["other_moved_away"] == 0  # a merge is not a move
    assert poor["decreases"]["above_near_poor"] == 1  # fell-back is not poor in 2026
    assert poor["decreases"]["other_gone"] == 4  # not surveyed in 2026
    assert poor["end"] == 1
    assert answer["map_date"] == "2026-11-01"
    # On the 2026 map, old Vĩnh Phúc (26) is no unit of the end round.
    gone = await as_role(Role.ADMIN).get(f"/api/v1/transitions/{ROUNDS[2024]}/{NEW_ROUND}/26")
    assert gone.status_code == 404


@pytest.mark.usefixtures("reformed")
@pytest.mark.parametrize(
    "precedence", EVERY_PRECEDENCE, ids=lambda p: "-".join(p.model_dump().values())
)
async def test_counted_together_in_sql_as_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], precedence: Precedence
) -> None:
    """The set-wise path (households of one history grouped in SQL) counts as placing each
    household alone does, across the map change and with an earlier history."""
    async with sessionmaker() as session:
        rounds = {year: await session.get(RoundRef, ROUNDS[year]) for year in (2023, 2024)}
        rounds[2026] = await session.get(RoundRef, NEW_ROUND)
        for (first, last), unit in (((2023, 2024), "243"), ((2024, 2026), NEW_COMMUNE[-1])):
            start, end = rounds[first], rounds[last]
            assert start is not None
            assert end is not None
            grouped = await transitions_service.transitions(session, start, end, unit, precedence)
            alone = await transitions_service.transitions(
                session, start, end, unit, precedence, keep_households=True
            )
            assert grouped is not None
            assert alone is not None
            assert sorted(grouped.cells.items()) == sorted(alone.cells.items())
            assert grouped.paths == alone.paths
            assert grouped.unassigned_households == alone.unassigned_households
