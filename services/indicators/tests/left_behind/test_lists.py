"""Left-behind lists: equal to a direct computation on random households and supports delivered in
any order; the entering event (once, again after leaving and re-entering); withdrawals, before or
after their records; the periodic check under a number of days; scope, roles and the workbook."""

import io
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.classification.engine import classify
from indicators.figures.cell_key import record_keys
from indicators.left_behind import service as left_behind_service
from indicators.left_behind.models import LeftBehindHousehold
from indicators.left_behind.service import Rule, today
from indicators.standard.service import get_standard
from kit.auth import Role
from kit.contracts import Envelope
from kit.contracts.households import AssessmentRecordedV1, Device

from .conftest import (
    NO_DEVICES,
    OFFLINE,
    ONLINE,
    PATHS,
    REFERENCE,
    ROUND,
    codes,
    feed,
    left_behind_events,
    opened,
    recorded,
    registered,
    support,
    survey,
    withdrawn,
)

AsRole = Callable[..., httpx.AsyncClient]
LIST = f"/api/v1/left-behind/{ROUND}"


async def _all_pages(client: httpx.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of the list, read in pages of 7."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = await client.get(url, params={**params, "offset": offset, "limit": 7})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        offset += 7
        if offset >= page["total"]:
            assert len(items) == page["total"]
            return items


def _expected(
    surveys: dict[str, AssessmentRecordedV1],
    supports: dict[str, list[date]],
    rule: Rule,
    unit: str,
) -> list[tuple[date, str, str]]:
    """The list computed directly: the final surveys classified by the engine, deprived in the
    information dimension of the standard's data, no counted support since the survey (or none
    within the days); sorted longest waiting first, then commune and code."""
    standard = get_standard("VN-2022-2025")
    information = {i.key for i in standard.indicators if i.dimension == "information"}
    listed = []
    for name, facts in surveys.items():
        if unit not in facts.unit_path:
            continue
        result = classify(facts, standard)
        if not {d.key for d in result.deprived} & information:
            continue
        since = [day for day in supports.get(name, []) if day >= facts.reference_date]
        last = max(since, default=None)
        cutoff = None if rule.within_days is None else rule.today - timedelta(rule.within_days)
        if last is not None and (cutoff is None or last >= cutoff):
            continue
        listed.append((last or facts.reference_date, facts.commune_code, facts.household_code))
    return sorted(listed)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_the_list_is_the_direct_computation_on_random_households(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole, seed: int
) -> None:
    rng = random.Random(seed)
    deliveries: list[Envelope] = []
    final: dict[str, AssessmentRecordedV1] = {}
    counted: dict[str, list[date]] = {}
    for number in range(40):
        name = f"r{seed}-{number:02d}"
        versions = rng.choice([1, 1, 2])
        for version in range(1, versions + 1):
            commune = rng.choice(list(PATHS))
            facts = {
                "internet_use": rng.random() < 0.5,
                "devices": [] if rng.random() < 0.4 else [Device.tv],
            }
            wrapped = survey(name, version=version, commune=commune, **facts)
            deliveries.append(wrapped)
            final[name] = AssessmentRecordedV1.model_validate(wrapped.data)
        for support_number in range(rng.choice([0, 0, 1, 2])):
            day = REFERENCE + timedelta(days=rng.randint(-40, 120))
            record = recorded(support(name, day, number=support_number))
            fate = rng.random()
            if fate < 0.3:  # withdrawn
                deliveries += [record, withdrawn(name, support_number)]
            else:
                deliveries.append(record)
                counted.setdefault(name, []).append(day)
    # Surveys, their versions, supports and withdrawals in any order: a withdrawal before its
    # record leaves a tombstone, so a withdrawn support never counts, whatever came first.
    rng.shuffle(deliveries)
    await feed(sessionmaker, opened(), *deliveries)
    admin = as_role(Role.ADMIN)
    for unit in ("26", "243", "08707"):
        for within_days in (None, 30, 90):
            rule = Rule(within_days=within_days, today=today())
            params = {} if within_days is None else {"within_days": within_days}
            items = await _all_pages(admin, f"{LIST}/{unit}", **params)
            got = [
                (date.fromisoformat(i["waiting_since"]), i["commune_code"], i["household_code"])
                for i in items
            ]
            expected = _expected(final, counted, rule, unit)
            assert got == expected, (unit, within_days)
            if unit == "26":
                assert expected, "the random households put someone on the list"
            for item in items:
                since = date.fromisoformat(item["waiting_since"])
                assert item["waiting_days"] == (today() - since).days
    # The other order is the same list, shortest waiting first.
    longest = await _all_pages(admin, f"{LIST}/26")
    shortest = await _all_pages(admin, f"{LIST}/26", order="shortest_waiting")
    assert sorted(codes(longest)) == sorted(codes(shortest))
    days = [item["waiting_days"] for item in shortest]
    assert days == sorted(days)


async def test_a_household_enters_once_and_again_after_leaving(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await feed(sessionmaker, opened(), survey("a", **OFFLINE, **NO_DEVICES))
    [first] = await left_behind_events(sessionmaker)
    assert first["subject"] == f"left_behind:{first['data']['household_id']}:{ROUND}"
    assert first["sequence"] == 1
    assert first["data"]["deprived_indicators"] == ["information_devices", "telecom_use"]
    assert first["data"]["reason"] == "no_support_since_survey"
    assert first["data"]["waiting_since"] == REFERENCE.isoformat()

    # Surveyed again, still deprived: it stays on the list, nothing more is published.
    await feed(sessionmaker, survey("a", version=2, **OFFLINE))
    assert len(await left_behind_events(sessionmaker)) == 1
    admin = as_role(Role.ADMIN)
    assert codes((await admin.get(f"{LIST}/08707")).json()["items"]) == ["HH-a"]

    # A smartphone given: it leaves the list at once.
    given = recorded(support("a", today()))
    await feed(sessionmaker, given)
    assert (await admin.get(f"{LIST}/08707")).json()["items"] == []
    # The same message delivered again changes nothing (the inbox), nor does a new message
    # carrying the same record.
    await feed(sessionmaker, given, recorded(support("a", today())))
    assert (await admin.get(f"{LIST}/08707")).json()["total"] == 0

    # Withdrawn (entered in error): back on the list, a second entry.
    await feed(sessionmaker, withdrawn("a"))
    events = await left_behind_events(sessionmaker)
    assert [e["sequence"] for e in events] == [1, 2]
    assert codes((await admin.get(f"{LIST}/08707")).json()["items"]) == ["HH-a"]

    # Re-surveyed online with a smartphone: off the list; deprived again later: a third entry.
    await feed(sessionmaker, survey("a", version=3, **ONLINE))
    assert (await admin.get(f"{LIST}/08707")).json()["total"] == 0
    await feed(sessionmaker, survey("a", version=4, **OFFLINE))
    events = await left_behind_events(sessionmaker)
    assert [e["sequence"] for e in events] == [1, 2, 3]
    assert events[-1]["data"]["deprived_indicators"] == ["telecom_use"]


async def test_support_before_the_survey_does_not_count_and_a_late_record_stays_withdrawn(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await feed(
        sessionmaker,
        opened(),
        # Helped the day before the survey: the survey found it still offline.
        recorded(support("early", REFERENCE - timedelta(days=1))),
        survey("early", **OFFLINE),
        # Withdrawn before its record arrived: the record, when it comes, does not count.
        withdrawn("tomb"),
        survey("tomb", **OFFLINE),
        recorded(support("tomb", REFERENCE + timedelta(days=3))),
        # Helped on the survey day itself: that counts as since the survey.
        survey("same-day", **OFFLINE),
        recorded(support("same-day", REFERENCE)),
    )
    admin = as_role(Role.ADMIN)
    items = (await admin.get(f"{LIST}/08707")).json()["items"]
    assert sorted(codes(items)) == ["HH-early", "HH-tomb"]
    assert all(item["last_support_on"] is None for item in items)
    # Each entered once, when classified; the late record published nothing.
    events = await left_behind_events(sessionmaker)
    assert sorted(e["data"]["household_code"] for e in events) == [
        "HH-early",
        "HH-same-day",
        "HH-tomb",
    ]
    # (same-day entered when classified, before its support arrived, and left with it.)


async def test_the_periodic_check_lists_households_whose_days_have_run_out(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    helped_on = REFERENCE + timedelta(days=10)
    await feed(
        sessionmaker,
        opened(),
        survey("helped", **NO_DEVICES),
        recorded(support("helped", helped_on)),
    )
    assert len(await left_behind_events(sessionmaker)) == 1  # classified before its support
    check_day = helped_on + timedelta(days=30)
    async with sessionmaker() as session, session.begin():
        # Exactly 30 days: still within them.
        assert await left_behind_service.check_waiting(session, Rule(30, check_day)) == 0
    async with sessionmaker() as session, session.begin():
        later = Rule(30, check_day + timedelta(days=1))
        assert await left_behind_service.check_waiting(session, later) == 1
    async with sessionmaker() as session, session.begin():
        # Still on the list: not announced again.
        assert await left_behind_service.check_waiting(session, later) == 0
    events = await left_behind_events(sessionmaker)
    assert [e["sequence"] for e in events] == [1, 2]
    assert events[-1]["data"]["reason"] == "no_support_within_days"
    assert events[-1]["data"]["waiting_since"] == helped_on.isoformat()
    admin = as_role(Role.ADMIN)
    within = (await admin.get(f"{LIST}/08707", params={"within_days": 30})).json()
    since_survey = (await admin.get(f"{LIST}/08707")).json()
    assert within["within_days"] == 30
    assert since_survey["total"] == 0
    # Listed under 30 days exactly when more than 30 days have passed since the support.
    expected = ["HH-helped"] if (today() - helped_on).days > 30 else []
    assert codes(within["items"]) == expected
    if expected:
        assert within["items"][0]["reason"] == "no_support_within_days"


async def test_who_sees_which_list(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await feed(
        sessionmaker,
        opened(),
        registered("ours", "Thôn Đồng Bùa"),
        survey("ours", **OFFLINE),
        survey("theirs", commune="08773", **OFFLINE),
    )
    officer = as_role(Role.COMMUNE_OFFICER, "08707")
    mine = (await officer.get(f"{LIST}/08707")).json()
    assert codes(mine["items"]) == ["HH-ours"]
    assert mine["items"][0]["village"] == "Thôn Đồng Bùa"
    assert mine["information_indicators"] == ["telecom_use", "information_devices"]
    # Another commune, or the province above: as if it did not exist.
    assert (await officer.get(f"{LIST}/08773")).status_code == 404
    assert (await officer.get(f"{LIST}/26")).status_code == 404
    # A province officer sees both communes (no personal data is in the list to mask).
    province = as_role(Role.PROVINCE_OFFICER, "26")
    assert sorted(codes((await province.get(f"{LIST}/26")).json()["items"])) == [
        "HH-ours",
        "HH-theirs",
    ]
    # Aggregate-only roles get no household-level list at all.
    analyst = as_role(Role.MINISTRY_ANALYST)
    assert (await analyst.get(f"{LIST}/26")).status_code == 403
    assert (await analyst.get(f"{LIST}/26/workbook")).status_code == 403
    # Bad input names the field.
    bad = await as_role(Role.ADMIN).get(f"{LIST}/26", params={"within_days": 0})
    assert bad.status_code == 422
    assert "within_days" in bad.text


async def test_the_workbook_holds_the_list_for_the_visits(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    await feed(
        sessionmaker,
        opened(),
        registered("w1", "Thôn Một"),
        registered("w2", '=HYPERLINK("x")'),
        survey("w1", **OFFLINE, **NO_DEVICES),
        survey("w2", **NO_DEVICES),
        survey("fine", **ONLINE),
    )
    officer = as_role(Role.COMMUNE_OFFICER, "08707")
    response = await officer.get(f"{LIST}/08707/workbook", params={"lang": "en"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    header = [cell.value for cell in sheet[6]]
    assert header[:4] == ["No.", "Household code", "Village", "Commune"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=7)]
    assert sorted(row[1] for row in rows) == ["HH-w1", "HH-w2"]
    villages = {row[1]: row[2] for row in rows}
    assert villages["HH-w1"] == "Thôn Một"
    assert villages["HH-w2"] == '\'=HYPERLINK("x")'  # never a formula
    deprivations = {row[1]: row[5] for row in rows}
    assert deprivations["HH-w1"] == "Means of information access\nTelecom service use"
    assert deprivations["HH-w2"] == "Means of information access"
    assert all(row[8] == (today() - REFERENCE).days for row in rows)


async def test_the_recalculation_path_places_households_as_the_consumer_does(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    """A recalculation re-applies changed classifications through the same `apply` (results
    without a version): a household it finds deprived enters the list, once."""
    wrapped = survey("recalc", **OFFLINE)
    await feed(sessionmaker, opened(), wrapped)
    async with sessionmaker() as session, session.begin():
        # As if classified before the lists existed.
        await session.exec(delete(LeftBehindHousehold))
    facts = AssessmentRecordedV1.model_validate(wrapped.data)
    result = classification_service.Classified(
        facts, classify(facts, get_standard(facts.standard_id))
    )
    for _ in range(2):
        async with sessionmaker() as session, session.begin():
            await classification_service.apply(session, [result], record_keys())
    events = await left_behind_events(sessionmaker)
    assert [e["sequence"] for e in events] == [1, 1]  # the consumer's, then the recalculation's
    assert codes((await as_role(Role.ADMIN).get(f"{LIST}/08707")).json()["items"]) == ["HH-recalc"]
