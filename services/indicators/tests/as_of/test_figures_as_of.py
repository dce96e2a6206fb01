"""Figures of a periodic round as of a date: regular rounds' results replace the periodic ones
from their reference date (the 15th), newcomers enter, other periods are ignored.

Expectations are computed by hand: each household's effective survey chosen in Python,
classified by the engine and counted with `counts_of`, never through the service's SQL.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.engine import classify
from indicators.classification.service import counts_of
from indicators.figures.cell_key import MAX_NOISE, perturb, record_keys
from indicators.figures.counts import Counts
from indicators.handlers import consumer
from indicators.standard.service import get_standard
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import AssessmentRecordedV1, RoundOpenedV1
from kit.messaging import IncomingMessage
from synthetic.events import assessment_recorded
from synthetic.generator import Commune, generate

PERIODIC = UUID("00000000-0000-4000-8000-0000000000c1")
REGULAR = UUID("00000000-0000-4000-8000-0000000000c2")  # 2024-12-15, in the period
EARLIER = UUID("00000000-0000-4000-8000-0000000000c3")  # 2024-10-15, before the periodic round
PERIODIC_DATE, REGULAR_DATE, EARLIER_DATE = (
    date(2024, 11, 1),
    date(2024, 12, 15),
    date(2024, 10, 15),
)
STANDARD = get_standard("VN-2022-2025")
COMMUNES = {"26000": ["26", "260", "26000"], "26001": ["26", "260", "26001"]}
CLASSES = ("poor", "near_poor", "average", "not_poor")
AsRole = Callable[..., httpx.AsyncClient]


def _message(event: Event, subject: str) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


def _class(event: AssessmentRecordedV1) -> str:
    return str(classify(event, STANDARD).household_class)


def _resurvey(
    household: AssessmentRecordedV1, facts: AssessmentRecordedV1, round_id: UUID, day: date
) -> AssessmentRecordedV1:
    """`household` surveyed again in a regular round, answering as `facts` did."""
    return facts.model_copy(
        update={
            "assessment_id": uuid4(),
            "household_id": household.household_id,
            "household_code": household.household_code,
            "round_id": round_id,
            "round_year": day.year,
            "reference_date": day,
        }
    )


@dataclass
class Scenario:
    periodic: list[AssessmentRecordedV1]
    leaver: AssessmentRecordedV1  # poor in the periodic round, not poor in the regular one
    entrant: AssessmentRecordedV1  # first surveyed in the regular round, poor
    earlier: AssessmentRecordedV1  # near-poor, not poor in a regular round before the periodic
    earlier_entrant: AssessmentRecordedV1  # first surveyed in that earlier regular round

    def effective(self, day: date) -> list[AssessmentRecordedV1]:
        """Each household's survey in force on `day`, by hand."""
        if day < REGULAR_DATE:
            return self.periodic
        leaver = self.periodic.index(self._leaver_periodic)
        return [*self.periodic[:leaver], self.leaver, *self.periodic[leaver + 1 :], self.entrant]

    @property
    def _leaver_periodic(self) -> AssessmentRecordedV1:
        return next(e for e in self.periodic if e.household_id == self.leaver.household_id)


def _scenario() -> Scenario:
    """Poverty is rare among synthetic households: the poor and near-poor of a larger draw,
    with a few others, in the rural commune; a few households in the urban one."""
    draws = [*generate([Commune("26000", False)], households=150, seed=1)]
    draws += generate([Commune("26001", True)], households=8, seed=1)
    events = [
        assessment_recorded(
            item,
            round_id=PERIODIC,
            reference_date=PERIODIC_DATE,
            unit_path=COMMUNES[item.household.commune_code],
        )
        for item in draws
    ]
    assert len({e.household_id for e in events}) == len(events)
    by_class: dict[str, list[AssessmentRecordedV1]] = {c: [] for c in CLASSES}
    for event in events:
        if event.commune_code == "26000":
            by_class[_class(event)].append(event)
    poor, near_poor, not_poor = by_class["poor"], by_class["near_poor"], by_class["not_poor"]
    assert len(poor) >= 2, "the seed draws two poor households"
    assert near_poor, "and a near-poor one"
    kept = {e.assessment_id for e in (*poor, *near_poor, *by_class["average"], *not_poor[:12])}
    entrant_facts = poor[0]
    periodic = [
        e
        for e in events
        if e is not entrant_facts and (e.assessment_id in kept or e.commune_code == "26001")
    ]
    leaver = _resurvey(poor[1], not_poor[0], REGULAR, REGULAR_DATE)
    entrant = entrant_facts.model_copy(update={"round_id": REGULAR, "reference_date": REGULAR_DATE})
    earlier = _resurvey(near_poor[0], not_poor[0], EARLIER, EARLIER_DATE)
    earlier_entrant = not_poor[12].model_copy(
        update={"round_id": EARLIER, "reference_date": EARLIER_DATE}
    )
    assert _class(leaver) == "not_poor"
    assert _class(entrant) == "poor"
    return Scenario(periodic, leaver, entrant, earlier, earlier_entrant)


async def _load(sessionmaker: async_sessionmaker[AsyncSession], scenario: Scenario) -> None:
    opened = [
        RoundOpenedV1(
            round_id=round_id,
            year=day.year,
            kind=kind,
            reference_date=day,
            standard_id=STANDARD.id,
            name=f"{kind} {day}",
        )
        for round_id, kind, day in (
            (PERIODIC, "periodic", PERIODIC_DATE),
            (REGULAR, "regular", REGULAR_DATE),
            (EARLIER, "regular", EARLIER_DATE),
        )
    ]
    surveys = [
        *scenario.periodic,
        scenario.leaver,
        scenario.entrant,
        scenario.earlier,
        scenario.earlier_entrant,
    ]
    messages = [_message(e, str(e.round_id)) for e in opened]
    messages += [_message(e, str(e.assessment_id)) for e in surveys]
    await consumer(sessionmaker).handle_batch(messages)


def _counts(surveys: Iterable[AssessmentRecordedV1], commune: str | None = None) -> Counts:
    keys = record_keys()
    total = Counts()
    for survey in surveys:
        if commune is None or survey.commune_code == commune:
            result = classify(survey, STANDARD)
            total.update(
                counts_of(result, persons=len(survey.members), record_key=keys(survey.household_id))
            )
    return total


def _households(answer: dict[str, Any]) -> dict[str, int]:
    counts = answer["total"]["households"]
    return {key: counts[key] for key in ("surveyed", *CLASSES)}


def _expected(counts: Counts) -> dict[str, int]:
    return {key: counts.values[f"households.{key}"] for key in ("surveyed", *CLASSES)}


@pytest.fixture
async def scenario(sessionmaker: async_sessionmaker[AsyncSession]) -> Scenario:
    loaded = _scenario()
    await _load(sessionmaker, loaded)
    return loaded


async def _figures(client: httpx.AsyncClient, unit: str, as_of: date | str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/figures/{PERIODIC}/{unit}", params={"as_of": str(as_of)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_leaving_and_entering_take_effect_on_the_regular_rounds_date(
    scenario: Scenario, as_role: AsRole
) -> None:
    admin = as_role(Role.ADMIN)
    for unit in ("26", "260", "26000"):
        commune = unit if len(unit) == 5 else None
        before = await _figures(admin, unit, date(2024, 12, 14))
        on_the_day = await _figures(admin, unit, REGULAR_DATE)
        assert _households(before) == _expected(_counts(scenario.effective(PERIODIC_DATE), commune))
        assert _households(on_the_day) == _expected(
            _counts(scenario.effective(REGULAR_DATE), commune)
        )
        # One household left poverty and one entered; one more household in all.
        assert on_the_day["total"]["households"]["poor"] == before["total"]["households"]["poor"]
        assert on_the_day["total"]["households"]["surveyed"] == (
            before["total"]["households"]["surveyed"] + 1
        )
        assert before["regular_reviews"] == {
            "as_of": "2024-12-14",
            "regular_rounds": 0,
            "households": 0,
        }
        assert on_the_day["regular_reviews"] == {
            "as_of": "2024-12-15",
            "regular_rounds": 1,
            "households": 2,
        }


async def test_before_any_regular_round_the_figures_are_the_rounds_own(
    scenario: Scenario, as_role: AsRole
) -> None:
    """The regular round of October, before the periodic round, is another period's: its
    results and its newcomer count nowhere."""
    admin = as_role(Role.ADMIN)
    own = (await admin.get(f"/api/v1/figures/{PERIODIC}/26")).json()
    as_of = await _figures(admin, "26", PERIODIC_DATE)
    assert _households(as_of) == _households(own)
    assert as_of["deprivation"] == own["deprivation"]
    assert as_of["total"]["household_rates"] == own["total"]["household_rates"]
    assert as_of["regular_reviews"]["regular_rounds"] == 0
    earlier = next(e for e in scenario.periodic if e.household_id == scenario.earlier.household_id)
    assert _class(earlier) == "near_poor"
    assert _class(scenario.earlier) == "not_poor"


async def test_children_as_of_count_the_newcomer_in_its_commune(
    scenario: Scenario, as_role: AsRole
) -> None:
    admin = as_role(Role.ADMIN)
    response = await admin.get(
        f"/api/v1/figures/{PERIODIC}/260/children", params={"as_of": "2025-01-31"}
    )
    assert response.status_code == 200, response.text
    items = {item["unit_code"]: item for item in response.json()["items"]}
    assert set(items) == set(COMMUNES)
    effective = scenario.effective(REGULAR_DATE)
    for commune, item in items.items():
        assert _households(item) == _expected(_counts(effective, commune))
    assert items["26000"]["regular_reviews"]["households"] == 2
    assert items["26001"]["regular_reviews"]["households"] == 0


async def test_restricted_roles_get_sums_of_perturbed_commune_leaves(
    scenario: Scenario, as_role: AsRole
) -> None:
    analyst = as_role(Role.MINISTRY_ANALYST)
    province = await _figures(analyst, "26", REGULAR_DATE)
    assert province["disclosure"] is not None
    response = await analyst.get(
        f"/api/v1/figures/{PERIODIC}/260/children", params={"as_of": str(REGULAR_DATE)}
    )
    communes = response.json()["items"]
    effective = scenario.effective(REGULAR_DATE)
    for item in communes:
        truth = _counts(effective, item["unit_code"])
        for household_class in CLASSES:
            leaves = [f"households.{household_class}.{area}" for area in ("urban", "rural")]
            expected = sum(
                perturb(truth.values[leaf], truth.key_sums[leaf], leaf) for leaf in leaves
            )
            assert item["total"]["households"][household_class] == expected
    for household_class in CLASSES:
        assert province["total"]["households"][household_class] == sum(
            item["total"]["households"][household_class] for item in communes
        )
    shown = province["regular_reviews"]["households"]
    assert shown == sum(item["regular_reviews"]["households"] for item in communes)
    assert abs(shown - 2) <= MAX_NOISE


async def test_bad_as_of_is_refused_naming_it(scenario: Scenario, as_role: AsRole) -> None:
    admin = as_role(Role.ADMIN)
    refused = [
        (PERIODIC, {"as_of": "2024-10-31"}),  # before the periodic round's reference date
        (REGULAR, {"as_of": "2024-12-31"}),  # a regular round
        (PERIODIC, {"as_of": "2024-12-31", "map": "2026-01-01"}),  # one at a time
    ]
    for round_id, params in refused:
        for path in ("26", "26/children"):
            response = await admin.get(f"/api/v1/figures/{round_id}/{path}", params=params)
            assert response.status_code == 422, (params, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert [error["loc"] for error in response.json()["errors"]] == [["query", "as_of"]]


async def test_a_round_whose_kind_is_not_known_yet_is_not_regular(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    """Assessments create the round's row; only the round-opened event makes it regular."""
    scenario = _scenario()
    surveys = [*scenario.periodic, scenario.leaver, scenario.entrant]
    await consumer(sessionmaker).handle_batch([_message(e, str(e.assessment_id)) for e in surveys])
    admin = as_role(Role.ADMIN)
    unknown = await _figures(admin, "26000", REGULAR_DATE)
    assert unknown["regular_reviews"]["regular_rounds"] == 0
    assert _households(unknown) == _expected(_counts(scenario.effective(PERIODIC_DATE), "26000"))
    opened = RoundOpenedV1(
        round_id=REGULAR,
        year=2024,
        kind="regular",
        reference_date=REGULAR_DATE,
        standard_id=STANDARD.id,
        name="regular",
    )
    await consumer(sessionmaker).handle_batch([_message(opened, str(REGULAR))])
    regular = await _figures(admin, "26000", REGULAR_DATE)
    assert regular["regular_reviews"]["regular_rounds"] == 1
    assert _households(regular) == _expected(_counts(scenario.effective(REGULAR_DATE), "26000"))
