"""The demo's digital inclusion (`synthetic.digital`): teams in today's communes, support for
about half of the information-deprived households between the rounds, and their next surveys
showing it, so that fewer households are left behind in the new round; resumable."""

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.digital_team.models import DigitalTeam, TeamMember
from households.household.models import Assessment, Household
from households.round.models import ReviewRound
from households.support.models import SupportRecord
from kit.contracts.households import SupportKind
from synthetic.demo import NEW_ROUND, OLD_ROUND, load_demo
from synthetic.digital import SUPPORT_FROM, SUPPORT_UNTIL, deprived_in

from .test_demo import SEED, Interrupting

# Enough households for a dozen supported ones over several communes (some re-surveyed).
HOUSEHOLDS, BATCH = 600, 100


async def digital_state(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessionmaker() as session:
        rounds = {r.year: r.id for r in (await session.exec(select(ReviewRound))).all()}
        surveys: dict[int, dict[Any, Assessment]] = {}
        for year, round_id in rounds.items():
            rows = (
                await session.exec(select(Assessment).where(Assessment.round_id == round_id))
            ).all()
            surveys[year] = {a.household_id: a for a in rows}
        records = (await session.exec(select(SupportRecord))).all()
        homes = dict((await session.exec(select(Household.id, Household.commune_code))).all())
        codes = dict((await session.exec(select(Household.id, Household.household_code))).all())
        teams = (await session.exec(select(DigitalTeam.commune_code))).all()
        members = (await session.exec(select(TeamMember.team_id))).all()
    return {
        "surveys": surveys,
        "records": records,
        "homes": homes,
        "codes": codes,
        "teams": Counter(teams),
        "members": len(members),
    }


async def test_about_half_the_deprived_are_supported_and_their_next_survey_shows_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH)
    state = await digital_state(sessionmaker)
    old, new = state["surveys"][OLD_ROUND.year], state["surveys"][NEW_ROUND.year]

    deprived = {h for h, a in old.items() if any(deprived_in(a))}
    kinds: dict[Any, set[SupportKind]] = {}
    for record in state["records"]:
        kinds.setdefault(record.household_id, set()).add(record.kind)
    supported = set(kinds)
    # Every second deprived household of each commune, in the order of their codes.
    by_commune: dict[str, list[tuple[str, Any]]] = {}
    for household in deprived:
        by_commune.setdefault(state["homes"][household], []).append(
            (state["codes"][household], household)
        )
    expected = {
        household
        for listed in by_commune.values()
        for position, (_, household) in enumerate(sorted(listed))
        if position % 2 == 1
    }
    assert supported == expected
    assert len(supported) >= 5
    assert all(SUPPORT_FROM <= r.given_on <= SUPPORT_UNTIL for r in state["records"])
    # A team in each commune where the households live now, two members each.
    assert set(state["teams"]) == set(state["homes"].values())
    assert set(state["teams"].values()) == {1}
    assert state["members"] == 2 * len(state["teams"])
    # The supported households surveyed again show the help, and left the deprivation.
    for household in supported & new.keys():
        telecom, devices = deprived_in(old[household])
        assert (SupportKind.device_given in kinds[household]) == devices
        assert (SupportKind.internet_subscription in kinds[household]) == telecom
        assert deprived_in(new[household]) == (False, False)
    # Left behind (deprived, no support): fewer in the new round than the same households had.
    resurveyed = new.keys()
    before = {h for h in deprived & resurveyed if h not in supported}
    after = {h for h, a in new.items() if any(deprived_in(a)) and h not in supported}
    assert after == before
    assert len(deprived & resurveyed) > len(after)


@pytest.mark.parametrize(("stage", "nth"), [("_support", 3), ("_resurvey_supported", 1)])
async def test_a_load_stopped_in_the_digital_stages_is_completed_by_the_next_start(
    sessionmaker: async_sessionmaker[AsyncSession], stage: str, nth: int
) -> None:
    interrupting = Interrupting(sessionmaker, stage, nth)

    with pytest.raises(asyncio.CancelledError):
        await load_demo(interrupting, households=HOUSEHOLDS, seed=SEED, batch=BATCH)  # type: ignore[arg-type]
    stopped = await digital_state(sessionmaker)
    await load_demo(sessionmaker, households=HOUSEHOLDS, seed=SEED, batch=BATCH)
    resumed = await digital_state(sessionmaker)

    assert interrupting.opened[stage] == nth
    assert len(stopped["records"]) < len(resumed["records"]) or stage == "_resurvey_supported"
    supported = {r.household_id for r in resumed["records"]}
    new = resumed["surveys"][NEW_ROUND.year]
    assert all(deprived_in(new[h]) == (False, False) for h in supported & new.keys())
    # Each commune's support was recorded once: no household has the same kind twice.
    given = Counter((r.household_id, r.kind) for r in resumed["records"])
    assert set(given.values()) == {1}
