"""Figures restated onto the map of 2026: Hòa Bình (17), Phú Thọ (25) and Vĩnh Phúc (26) of a
2024 round become Phú Thọ (25), through the real 2025 crosswalk (vietnamadminunits, as the
households service loads it), fed to the consumer as the households service publishes it.

Expectations are computed by hand: each household classified by the engine, mapped through the
crosswalk in Python and counted with `household_counts`, never through the service's SQL.
"""

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from households.unit.seed import _read_rows, source
from indicators.classification.engine import classify
from indicators.classification.service import counts_of
from indicators.figures.cell_key import record_keys
from indicators.figures.counts import Counts
from indicators.handlers import consumer
from indicators.standard.service import get_standard
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Area,
    AssessmentRecordedV1,
    HouseholdRegisteredV1,
    HouseholdUpdatedV1,
    PopulationRecordedV1,
    SuccessionRelation,
    UnitSuccession,
    UnitSuccessionsRecordedV1,
)
from kit.messaging import IncomingMessage
from synthetic.events import assessment_recorded
from synthetic.generator import generate

ROUND = UUID("00000000-0000-4000-8000-0000000000b1")
REFERENCE_DATE = date(2024, 11, 1)
MAP = "2026-01-01"
OLD_PROVINCES = ("17", "25", "26")
CLASSES = ("poor", "near_poor", "average", "not_poor")
AREAS = ("urban", "rural")
STANDARD = get_standard("VN-2022-2025")
AsRole = Callable[..., httpx.AsyncClient]


@dataclass(frozen=True)
class OldCommune:
    code: str
    path: tuple[str, ...]
    urban: bool


@dataclass
class Crosswalk:
    """The 2025 crosswalk of the three provinces, as plain Python."""

    communes: dict[str, OldCommune] = field(default_factory=dict)
    successors: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # old → new paths
    relation: dict[str, SuccessionRelation] = field(default_factory=dict)
    events: list[UnitSuccessionsRecordedV1] = field(default_factory=list)

    def split(self) -> list[str]:
        return sorted(c for c, r in self.relation.items() if r is SuccessionRelation.partial)

    def whole(self) -> list[str]:
        return sorted(c for c, r in self.relation.items() if r is SuccessionRelation.whole)

    def kept(self) -> list[str]:
        """Communes that became one new commune alone (unchanged or renamed)."""
        return sorted(
            c
            for c, r in self.relation.items()
            if r in (SuccessionRelation.unchanged, SuccessionRelation.renamed)
        )


@cache
def crosswalk() -> Crosswalk:
    units, successions = _read_rows(source(), Area.rural)
    by_key = {(unit["code"], unit["valid_from"]): unit for unit in units}

    def path(unit: Mapping[str, Any]) -> tuple[str, ...]:
        codes = [unit["code"]]
        while unit["parent_code"] is not None:
            parent = next(
                u
                for u in units
                if u["code"] == unit["parent_code"] and u["valid_from"] == unit["valid_from"]
            )
            codes.insert(0, parent["code"])
            unit = parent
        return tuple(codes)

    walk = Crosswalk()
    edges: dict[str, list[UnitSuccession]] = defaultdict(list)
    paths: dict[tuple[str, date], tuple[str, ...]] = {}
    for row in successions:
        old = by_key[(row["predecessor_code"], row["predecessor_valid_from"])]
        if old["province_code"] not in OLD_PROVINCES:
            continue
        new = by_key[(row["successor_code"], row["successor_valid_from"])]
        new_key = (new["code"], new["valid_from"])
        new_path = paths.setdefault(new_key, path(new))
        edges[old["province_code"]].append(
            UnitSuccession(
                predecessor_code=old["code"],
                predecessor_valid_from=old["valid_from"],
                successor_code=new["code"],
                successor_valid_from=new["valid_from"],
                successor_level=new["level"].value,
                successor_unit_path=list(new_path),
                successor_area=new["area"],
                relation=row["relation"],
            )
        )
        if old["level"].value == "commune":
            old_key = (old["code"], old["valid_from"])
            walk.communes[old["code"]] = OldCommune(
                old["code"], paths.setdefault(old_key, path(old)), old["area"] is Area.urban
            )
            walk.successors.setdefault(old["code"], []).append(new_path)
            walk.relation[old["code"]] = row["relation"]
    for province, province_edges in sorted(edges.items()):
        walk.events.append(
            UnitSuccessionsRecordedV1(
                source=source(),
                effective=date(2025, 7, 1),
                predecessor_province_code=province,
                successions=province_edges,
            )
        )
    return walk


def message(event: Event, subject: str, sequence: int = 1) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=sequence, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


@dataclass
class Round:
    """The households of the round, their as-reported communes, and where each is now."""

    walk: Crosswalk
    communes: list[str]  # the as-reported communes drawn
    surveys: list[AssessmentRecordedV1] = field(default_factory=list)
    now: dict[UUID, tuple[str, ...]] = field(default_factory=dict)  # household → current path
    populations: dict[str, tuple[int, int]] = field(default_factory=dict)

    def target(self, survey: AssessmentRecordedV1) -> tuple[str, ...] | None:
        """The household's commune on the new map, by hand; None: unassigned."""
        successors = self.walk.successors[survey.commune_code]
        if self.walk.relation[survey.commune_code] is not SuccessionRelation.partial:
            return successors[0]
        current = self.now.get(survey.household_id)
        return current if current in successors else None

    def expected(self, unit: str) -> Counts:
        """The unit's counters computed from each household's own classification."""
        keys = record_keys()
        total = Counts()
        for survey in self.surveys:
            target = self.target(survey)
            if target is None or unit not in target:
                continue
            result = classify(survey, STANDARD)
            total.update(
                counts_of(
                    result,
                    persons=len(survey.members),
                    record_key=keys(survey.household_id),
                )
            )
        return total

    def unassigned(self, unit: str) -> int:
        return sum(
            1
            for survey in self.surveys
            if self.target(survey) is None
            and any(unit in path for path in self.walk.successors[survey.commune_code])
        )


async def load(
    sessionmaker: async_sessionmaker[AsyncSession], seed: int, *, assign: float
) -> Round:
    """A random set of communes of the three provinces (the split ones always among them), a
    few households in each, their populations; households carried across to the new map (a
    share `assign` of those of split communes assigned to a successor at random)."""
    rng = random.Random(seed)
    walk = crosswalk()
    communes = sorted(set(rng.sample(walk.whole(), 30)) | set(walk.split()) | set(walk.kept()))
    generated = list(
        generate(
            [(code, walk.communes[code].urban) for code in communes],
            households=len(communes) * 3,
            seed=seed,
            reference_date=REFERENCE_DATE,
        )
    )
    state = Round(walk, communes)
    messages = [
        message(event, f"successions:{event.predecessor_province_code}") for event in walk.events
    ]
    for item in generated:
        old = walk.communes[item.household.commune_code]
        survey = assessment_recorded(
            item, round_id=ROUND, reference_date=REFERENCE_DATE, unit_path=old.path
        )
        state.surveys.append(survey)
        messages.append(message(survey, str(survey.assessment_id)))
        registered = HouseholdRegisteredV1(
            household_id=survey.household_id,
            household_code=survey.household_code,
            commune_code=old.code,
            unit_path=list(old.path),
            village="Thôn 1",
            version=1,
        )
        messages.append(message(registered, str(survey.household_id)))
        successors = walk.successors[old.code]
        split = walk.relation[old.code] is SuccessionRelation.partial
        if not split or rng.random() < assign:
            new = rng.choice(successors)
            messages.append(message(carried(survey, new, version=2), str(survey.household_id), 2))
            state.now[survey.household_id] = new
        else:
            state.now[survey.household_id] = old.path
    for code in communes:
        if rng.random() < 0.8:  # some communes have no population entered
            households, persons = rng.randint(50, 400), rng.randint(200, 1600)
            state.populations[code] = (households, persons)
            population = PopulationRecordedV1(
                round_id=ROUND,
                unit_code=code,
                unit_path=list(walk.communes[code].path),
                area=Area.urban if walk.communes[code].urban else Area.rural,
                resident_households=households,
                resident_persons=persons,
            )
            messages.append(message(population, f"population:{code}"))
    rng.shuffle(messages)
    handle = consumer(sessionmaker)
    for start in range(0, len(messages), 100):
        await handle.handle_batch(messages[start : start + 100])
    return state


def carried(survey: AssessmentRecordedV1, path: Iterable[str], *, version: int) -> Event:
    path = list(path)
    return HouseholdUpdatedV1(
        household_id=survey.household_id,
        household_code=survey.household_code,
        commune_code=path[-1],
        unit_path=path,
        village="Thôn 1",
        version=version,
    )


def shown(answer: Mapping[str, Any]) -> dict[str, int]:
    """The answer's leaf counts as counters (households, persons, deprivations)."""
    counters = {}
    for area in AREAS:
        for unit in ("households", "persons"):
            for household_class in CLASSES:
                counters[f"{unit}.{household_class}.{area}"] = answer[area][unit][household_class]
    for household_class, deprivation in answer["deprivation"].items():
        for indicator in deprivation["indicators"]:
            counters[f"deprived.{household_class}.{indicator['key']}"] = indicator["households"]
        for dimension in deprivation["dimensions"]:
            key = f"deprived_dimension.{household_class}.{dimension['key']}"
            counters[key] = dimension["households"]
    return counters


def leaves_of(counts: Counts) -> dict[str, int]:
    values = {metric: value for metric, value, _ in counts.items()}
    return {metric: values.get(metric, 0) for metric in shown_metrics()}


@cache
def shown_metrics() -> tuple[str, ...]:
    metrics = [f"{u}.{c}.{a}" for a in AREAS for u in ("households", "persons") for c in CLASSES]
    for household_class in ("poor", "near_poor"):
        metrics += [f"deprived.{household_class}.{i.key}" for i in STANDARD.indicators]
        metrics += [f"deprived_dimension.{household_class}.{d.key}" for d in STANDARD.dimensions]
    return tuple(metrics)


async def restated(client: httpx.AsyncClient, unit: str, suffix: str = "") -> Any:
    answer = await client.get(f"/api/v1/figures/{ROUND}/{unit}{suffix}", params={"map": MAP})
    assert answer.status_code == 200, answer.text
    return answer.json()


class TestRestatedFigures:
    @pytest.mark.parametrize("seed", [1, 2])
    async def test_equal_the_households_mapped_by_hand(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole, seed: int
    ) -> None:
        state = await load(sessionmaker, seed, assign=0.5)
        admin = as_role(Role.ADMIN)

        province = await restated(admin, "25")
        children = (await restated(admin, "25", "/children"))["items"]

        assert province["map"] == {"as_reported": False, "date": MAP}
        assert province["level"] == "province"
        assert shown(province) == leaves_of(state.expected("25"))
        assert province["unassigned_households"] == state.unassigned("25") > 0
        assert province["comparable"] is False
        targets = {path[-1] for s in state.surveys if (path := state.target(s)) is not None}
        assert {child["unit_code"] for child in children} >= targets
        for child in children:
            code = child["unit_code"]
            assert child["level"] == "commune"
            assert shown(child) == leaves_of(state.expected(code)), code
            assert child["unassigned_households"] == state.unassigned(code), code
            assert child["comparable"] is (state.unassigned(code) == 0), code
            assert child == await restated(admin, code)

    async def test_of_a_whole_merge_carry_the_predecessors_population_and_rates(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        state = await load(sessionmaker, 3, assign=1.0)
        admin = as_role(Role.ADMIN)
        walk = state.walk
        predecessors: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for old, successors in walk.successors.items():
            if walk.relation[old] is not SuccessionRelation.partial:
                predecessors[successors[0]].append(old)
        drawn = {
            path: [old for old in olds if old in state.communes]
            for path, olds in predecessors.items()
        }
        complete = [
            path
            for path, olds in drawn.items()
            if olds
            and all(old in state.populations for old in olds)
            and not any(path in walk.successors[s] for s in walk.split())
            and state.expected(path[-1]).values["households.surveyed"] > 0
        ]
        assert complete

        for path in complete:
            answer = await restated(admin, path[-1])
            olds = drawn[path]
            households = sum(state.populations[old][0] for old in olds)
            poor = state.expected(path[-1]).values["households.poor"]
            assert answer["denominator"]["status"] == "complete"
            assert answer["total"]["households"]["resident"] == households
            assert answer["total"]["household_rates"]["poverty_rate_percent"] == round(
                100 * poor / households, 4
            )
            assert answer["comparable"] is True

    async def test_of_a_split_commune_are_withheld_rates_and_flagged_until_assigned(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        state = await load(sessionmaker, 4, assign=0.0)
        admin = as_role(Role.ADMIN)
        split = state.walk.split()[0]
        successors = state.walk.successors[split]
        waiting = [s for s in state.surveys if s.commune_code == split]
        assert waiting

        before = [await restated(admin, path[-1]) for path in successors]
        assert all(answer["comparable"] is False for answer in before)
        assert all(answer["unassigned_households"] == len(waiting) for answer in before)
        assert all(answer["denominator"]["communes_split"] >= 1 for answer in before)
        assert all(
            answer["total"]["household_rates"]["poverty_rate_percent"] is None for answer in before
        )

        handle = consumer(sessionmaker)
        for survey in waiting:
            state.now[survey.household_id] = successors[1]
            await handle(message(carried(survey, successors[1], version=3), "h", 3))
        after = [await restated(admin, path[-1]) for path in successors]

        for path, answer in zip(successors, after, strict=True):
            assert answer["comparable"] is (state.unassigned(path[-1]) == 0)
            assert answer["unassigned_households"] == 0
            assert shown(answer) == leaves_of(state.expected(path[-1]))
        assert after[1]["total"]["households"]["surveyed"] >= len(waiting)

    async def test_an_assignment_changes_restated_figures_only(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        state = await load(sessionmaker, 5, assign=0.0)
        admin = as_role(Role.ADMIN)
        split = state.walk.split()[0]
        old_path = state.walk.communes[split].path
        survey = next(s for s in state.surveys if s.commune_code == split)
        new = state.walk.successors[split][0]

        async def as_reported() -> list[Any]:
            return [
                (await admin.get(f"/api/v1/figures/{ROUND}/{unit}{suffix}")).json()
                for unit in old_path
                for suffix in ("", "/children")
            ]

        reported_before = await as_reported()
        restated_before = await restated(admin, new[-1])
        await consumer(sessionmaker)(message(carried(survey, new, version=3), "h", 3))

        assert await as_reported() == reported_before
        restated_after = await restated(admin, new[-1])
        assert (
            restated_after["unassigned_households"] == restated_before["unassigned_households"] - 1
        )
        assert restated_after["total"]["households"]["surveyed"] == (
            restated_before["total"]["households"]["surveyed"] + 1
        )


class TestOneOldProvinceOfSeveral:
    async def test_split_communes_of_the_other_old_provinces_withhold_no_rate(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        """A round of Vĩnh Phúc alone, restated onto Phú Thọ (25): the split communes of the
        old Phú Thọ and Hòa Bình merged into it hold nothing of the round, so they change
        nothing, and the province's rates stand."""
        walk = crosswalk()
        vinh_phuc = [code for code in walk.whole() if walk.communes[code].path[0] == "26"]
        assert vinh_phuc
        assert any(walk.communes[code].path[0] != "26" for code in walk.split())
        generated = generate(
            [(code, walk.communes[code].urban) for code in vinh_phuc],
            households=len(vinh_phuc) * 2,
            seed=5,
            reference_date=REFERENCE_DATE,
        )
        messages = [
            message(event, f"successions:{event.predecessor_province_code}")
            for event in walk.events
        ]
        for item in generated:
            old = walk.communes[item.household.commune_code]
            survey = assessment_recorded(
                item, round_id=ROUND, reference_date=REFERENCE_DATE, unit_path=old.path
            )
            messages.append(message(survey, str(survey.assessment_id)))
        for code in vinh_phuc:
            population = PopulationRecordedV1(
                round_id=ROUND,
                unit_code=code,
                unit_path=list(walk.communes[code].path),
                area=Area.urban if walk.communes[code].urban else Area.rural,
                resident_households=100,
                resident_persons=400,
            )
            messages.append(message(population, f"population:{code}"))
        handle = consumer(sessionmaker)
        for start in range(0, len(messages), 100):
            await handle.handle_batch(messages[start : start + 100])
        admin = as_role(Role.ADMIN)
        as_reported = (await admin.get(f"/api/v1/figures/{ROUND}/26")).json()
        poor = as_reported["total"]["households"]["poor"]

        answer = await restated(admin, "25")

        assert answer["denominator"]["status"] == "complete", answer["denominator"]
        assert answer["denominator"]["communes_split"] == 0
        assert answer["total"]["households"]["resident"] == 100 * len(vinh_phuc)
        assert answer["total"]["household_rates"]["poverty_rate_percent"] == round(
            100 * poor / (100 * len(vinh_phuc)), 4
        )


class TestTheMapParameter:
    async def test_a_day_before_the_reference_date_is_refused_naming_map(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await load(sessionmaker, 6, assign=1.0)

        answer = await as_role(Role.ADMIN).get(
            f"/api/v1/figures/{ROUND}/25", params={"map": "2024-10-31"}
        )

        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [error["loc"] for error in answer.json()["errors"]] == [["query", "map"]]

    async def test_a_unit_gone_from_the_map_is_not_found(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await load(sessionmaker, 6, assign=1.0)
        admin = as_role(Role.ADMIN)

        gone = await admin.get(f"/api/v1/figures/{ROUND}/26", params={"map": MAP})
        reported = await admin.get(f"/api/v1/figures/{ROUND}/26")

        assert gone.status_code == 404
        assert reported.status_code == 200
        assert reported.json()["map"] == {"as_reported": True, "date": "2024-11-01"}

    async def test_a_day_before_any_map_change_answers_the_units_as_reported(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await load(sessionmaker, 6, assign=1.0)
        admin = as_role(Role.ADMIN)

        reported = (await admin.get(f"/api/v1/figures/{ROUND}/26")).json()
        same_map = await admin.get(f"/api/v1/figures/{ROUND}/26", params={"map": "2025-06-30"})

        assert same_map.status_code == 200
        assert same_map.json()["map"] == {"as_reported": False, "date": "2025-06-30"}
        assert {**same_map.json(), "map": reported["map"]} == reported


class TestARestrictedRole:
    async def test_sees_sums_of_perturbed_restated_commune_leaves(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        await load(sessionmaker, 7, assign=0.5)
        analyst = as_role(Role.MINISTRY_ANALYST)
        admin = as_role(Role.ADMIN)

        province = await restated(analyst, "25")
        children = (await restated(analyst, "25", "/children"))["items"]
        truth = (await restated(admin, "25", "/children"))["items"]

        assert province["disclosure"] is not None
        assert [shown(child) for child in children] != [shown(child) for child in truth]
        for metric in shown_metrics():
            assert shown(province)[metric] == sum(shown(child)[metric] for child in children)
        for area in ("total", *AREAS):
            for unit in ("households", "persons"):
                counts = province[area][unit]
                assert counts["surveyed"] == sum(counts[c] for c in CLASSES)
        for child in children:
            assert child == await restated(analyst, child["unit_code"])

    async def test_sees_an_unchanged_commune_restated_as_reported(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        """The same households in a cell give the same cell key, hence the same noise."""
        state = await load(sessionmaker, 8, assign=1.0)
        analyst = as_role(Role.MINISTRY_ANALYST)
        unchanged = [
            old for old in state.walk.kept() if any(s.commune_code == old for s in state.surveys)
        ]
        assert unchanged

        for old in unchanged:
            reported = (await analyst.get(f"/api/v1/figures/{ROUND}/{old}")).json()
            new = state.walk.successors[old][0][-1]
            assert shown(await restated(analyst, new)) == shown(reported)
