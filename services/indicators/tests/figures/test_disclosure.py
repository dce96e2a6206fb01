"""What a role without `small_cells:read` can learn from every answer it can get for a round.

Random synthetic provinces (the households service's generator, many communes of 1 to 6
households) go through the indicators consumer; then the analyst asks for every unit and every
`/children` list. Two properties are proved:

- consistency: every count of every answer is the sum of the published commune leaf cells it
  covers, so the analyst's knowledge is exactly the perturbed leaves;
- the adversary: an exact integer program over the true leaf values, given every answer, the
  documented noise bound and what an adversary knows of the structure, cannot pin any count
  whose true value is from 1 to k - 1.
"""

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import highspy
import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import disclosure, router
from indicators.handlers import consumer
from indicators.standard.service import get_standard
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import Area, PopulationRecordedV1
from kit.messaging import IncomingMessage
from synthetic.events import assessment_recorded
from synthetic.generator import Commune, generate

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

ROUND = UUID("00000000-0000-4000-8000-0000000000a8")
STANDARD = get_standard("VN-2022-2025")
K = 5  # counts from 1 to K - 1 are the small cells to protect
CLASSES = ("poor", "near_poor", "average", "not_poor")
ANALYSED = ("poor", "near_poor")
AREAS = ("urban", "rural")
MAX_MEMBERS = 30  # what an adversary may assume of any household's size
AsRole = Callable[..., httpx.AsyncClient]
Leaf = tuple[str, str]  # commune, metric
Quantity = frozenset[Leaf]


@dataclass
class Tree:
    """The synthetic units: each commune's path and area."""

    paths: dict[str, list[str]] = field(default_factory=dict)
    urban: dict[str, bool] = field(default_factory=dict)

    def communes_under(self, unit: str) -> list[str]:
        return [commune for commune, path in self.paths.items() if unit in path]

    def units(self) -> list[str]:
        return sorted({unit for path in self.paths.values() for unit in path})


def _message(event: Event, subject: str) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=1, subject=subject)
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


async def _load(sessionmaker: async_sessionmaker[AsyncSession], seed: int) -> Tree:
    """Two provinces of 3 to 4 districts of 3 to 6 communes; most communes are tiny."""
    rng = random.Random(seed)
    tree, messages = Tree(), []
    for province in ("26", "27"):
        for d in range(rng.randint(3, 4)):
            district = f"{province}{d}"
            for c in range(rng.randint(3, 6)):
                commune = f"{district}{c:02d}"
                urban = rng.random() < 0.3
                size = rng.randint(1, 6) if rng.random() < 0.7 else rng.randint(15, 40)
                tree.paths[commune] = [province, district, commune]
                tree.urban[commune] = urban
                items = list(generate([Commune(commune, urban)], households=size, seed=seed))
                for item in items:
                    event = assessment_recorded(item, round_id=ROUND, unit_path=tree.paths[commune])
                    messages.append(_message(event, str(event.assessment_id)))
                population = PopulationRecordedV1(
                    round_id=ROUND,
                    unit_code=commune,
                    unit_path=tree.paths[commune],
                    area=Area.urban if urban else Area.rural,
                    resident_households=size * 3,
                    resident_persons=sum(len(item.assessment.members) for item in items) * 3,
                )
                messages.append(_message(population, f"population:{commune}"))
    handle = consumer(sessionmaker)
    for start in range(0, len(messages), 200):
        await handle.handle_batch(messages[start : start + 200])
    return tree


def _quantities(
    answer: Mapping[str, Any], communes: Sequence[str]
) -> Iterator[tuple[Quantity, int | None]]:
    """Each count of an answer and the commune leaf cells it adds up."""

    def over(metrics: Sequence[str]) -> Quantity:
        return frozenset((commune, metric) for commune in communes for metric in metrics)

    for area in ("total", *AREAS):
        areas = AREAS if area == "total" else (area,)
        for unit in ("households", "persons"):
            counts = answer[area][unit]
            for household_class in CLASSES:
                metrics = [f"{unit}.{household_class}.{a}" for a in areas]
                yield over(metrics), counts[household_class]
            metrics = [f"{unit}.{c}.{a}" for c in CLASSES for a in areas]
            yield over(metrics), counts["surveyed"]
    for household_class, deprivation in answer["deprivation"].items():
        yield over([f"households.{household_class}.{a}" for a in AREAS]), deprivation["households"]
        indicators = [f"deprived.{household_class}.{i.key}" for i in STANDARD.indicators]
        yield over(indicators), deprivation["total_deprivations"]
        for indicator in deprivation["indicators"]:
            metric = f"deprived.{household_class}.{indicator['key']}"
            yield over([metric]), indicator["households"]
        for dimension in deprivation["dimensions"]:
            metric = f"deprived_dimension.{household_class}.{dimension['key']}"
            yield over([metric]), dimension["households"]


@dataclass
class Answers:
    """Everything a caller got: each count as (the leaves it covers, its value)."""

    counts: list[tuple[Quantity, int | None]] = field(default_factory=list)
    bound: int = 0  # the documented noise bound; 0 when counts are exact where shown
    alone: dict[str, Any] = field(default_factory=dict)
    listed: dict[str, Any] = field(default_factory=dict)

    def add(self, answer: Mapping[str, Any], tree: Tree) -> None:
        method = answer.get("disclosure")
        self.bound = max(self.bound, method["max_noise"] if method else 0)
        self.counts.extend(_quantities(answer, tree.communes_under(answer["unit_code"])))


async def _collect(client: httpx.AsyncClient, tree: Tree) -> Answers:
    """Every unit alone and every unit's children, as the client sees them."""
    answers = Answers()
    for unit in tree.units():
        alone = await client.get(f"/api/v1/figures/{ROUND}/{unit}")
        assert alone.status_code == 200, alone.text
        answers.alone[unit] = alone.json()
        answers.add(alone.json(), tree)
        children = await client.get(f"/api/v1/figures/{ROUND}/{unit}/children")
        assert children.status_code == 200, children.text
        for item in children.json()["items"]:
            answers.listed[item["unit_code"]] = item
            answers.add(item, tree)
    return answers


def _leaves(answers: Answers) -> dict[Leaf, int]:
    """The commune leaf cells as published (each is a count of its commune's answer)."""
    return {
        next(iter(quantity)): value
        for quantity, value in answers.counts
        if len(quantity) == 1 and value is not None
    }


async def _answers(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole, seed: int
) -> tuple[Tree, Answers, dict[Leaf, int]]:
    """The tree, the analyst's answers, and the true leaf values (an admin's)."""
    tree = await _load(sessionmaker, seed)
    answers = await _collect(as_role(Role.MINISTRY_ANALYST), tree)
    truth = _leaves(await _collect(as_role(Role.ADMIN), tree))
    return tree, answers, truth


class TestConsistency:
    async def test_every_count_is_the_sum_of_the_published_leaves_it_covers(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        """Parent = Σ children, total = urban + rural, surveyed = Σ classes, deprivations =
        Σ indicators, at every level: nothing an answer shows is not already in the leaves."""
        _, answers, truth = await _answers(sessionmaker, as_role, seed=11)
        leaves = _leaves(answers)

        assert answers.bound > 0
        assert leaves != truth  # perturbed
        for quantity, value in answers.counts:
            assert value == sum(leaves[leaf] for leaf in quantity)

    async def test_a_unit_alone_and_in_its_parents_children_reads_the_same(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        tree, answers, _ = await _answers(sessionmaker, as_role, seed=12)

        assert set(answers.listed) == set(tree.units()) - {"26", "27"}
        for unit, listed in answers.listed.items():
            assert listed == answers.alone[unit], unit

    async def test_shares_stay_between_0_and_100(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        _, answers, _ = await _answers(sessionmaker, as_role, seed=13)

        shares = [
            item["share_percent"]
            for answer in answers.alone.values()
            for deprivation in answer["deprivation"].values()
            for item in deprivation["indicators"] + deprivation["dimensions"]
            if item["share_percent"] is not None
        ]
        assert shares
        assert all(0 <= share <= 100 for share in shares)


class Adversary:
    """An exact integer program over a province's true leaf values, given every answer."""

    def __init__(self, tree: Tree, answers: Answers, communes: Sequence[str]) -> None:
        self.model = highspy.Highs()
        self.model.silent()
        self.true: dict[Leaf, Any] = {}
        published: dict[Leaf, Any] = {}
        leaf_metrics = [
            *(f"{u}.{c}.{a}" for u in ("households", "persons") for c in CLASSES for a in AREAS),
            *(f"deprived.{c}.{i.key}" for c in ANALYSED for i in STANDARD.indicators),
            *(f"deprived_dimension.{c}.{d.key}" for c in ANALYSED for d in STANDARD.dimensions),
        ]
        for commune in communes:
            for metric in leaf_metrics:
                true = self.model.addIntegral(lb=0)
                noise = self.model.addIntegral(lb=-answers.bound, ub=answers.bound)
                self.model.addConstr(true + noise >= 0)  # clipped at zero
                self.true[(commune, metric)] = true
                published[(commune, metric)] = true + noise
            self._structure(commune, tree.urban[commune])
        mine = set(self.true)
        for quantity, value in set(answers.counts):
            if value is None or not quantity <= mine:
                continue
            self.model.addConstr(self.model.qsum(published[leaf] for leaf in quantity) == value)
            if value > 0:  # zeros stay zero: something is there
                self.model.addConstr(self.model.qsum(self.true[leaf] for leaf in quantity) >= 1)

    def _structure(self, commune: str, urban: bool) -> None:
        """What anyone knows: the commune's area, the standard's rules, households ≤ persons."""
        t = {metric: var for (c, metric), var in self.true.items() if c == commune}
        qsum, constrain = self.model.qsum, self.model.addConstr
        for unit in ("households", "persons"):
            for household_class in CLASSES:
                constrain(t[f"{unit}.{household_class}.{'rural' if urban else 'urban'}"] == 0)
        for household_class in CLASSES:
            for area in AREAS:
                households = t[f"households.{household_class}.{area}"]
                persons = t[f"persons.{household_class}.{area}"]
                constrain(households <= persons)
                constrain(persons <= MAX_MEMBERS * households)
        minimum = -(
            -STANDARD.deprivation_score.poor_min_score
            // STANDARD.deprivation_score.points_per_indicator
        )
        for household_class in ANALYSED:
            households = qsum(t[f"households.{household_class}.{a}"] for a in AREAS)
            indicators = {
                i.key: t[f"deprived.{household_class}.{i.key}"] for i in STANDARD.indicators
            }
            for count in indicators.values():
                constrain(count <= households)
            for dimension in STANDARD.dimensions:
                within = [
                    indicators[i.key] for i in STANDARD.indicators if i.dimension == dimension.key
                ]
                count = t[f"deprived_dimension.{household_class}.{dimension.key}"]
                for indicator in within:
                    constrain(count >= indicator)
                constrain(count <= qsum(within))
            if household_class == "poor":
                constrain(qsum(indicators.values()) >= minimum * households)
            else:
                constrain(qsum(indicators.values()) <= (minimum - 1) * households)

    def range_of(self, quantity: Quantity) -> tuple[float, float]:
        """The least and greatest true value of the quantity consistent with everything."""
        total = self.model.qsum(self.true[leaf] for leaf in quantity)
        bounds = []
        for solve in (self.model.minimize, self.model.maximize):
            solve(total)
            status = self.model.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                assert solve == self.model.maximize, status  # only unbounded above
                bounds.append(float("inf"))
            else:
                bounds.append(self.model.getInfo().objective_function_value)
        return bounds[0], bounds[1]


def _pinned(tree: Tree, answers: Answers, truth: Mapping[Leaf, int]) -> tuple[int, list[Any]]:
    """How many small counts the analyst's answers cover, and those the solver pins down."""
    protected, pinned = 0, []
    for province in ("26", "27"):
        communes = tree.communes_under(province)
        adversary = Adversary(tree, answers, communes)
        small = {
            quantity
            for quantity, _ in answers.counts
            if quantity <= adversary.true.keys()
            and 0 < sum(truth.get(leaf, 0) for leaf in quantity) < K
        }
        for quantity in sorted(small, key=sorted):
            protected += 1
            low, high = adversary.range_of(quantity)
            value = sum(truth.get(leaf, 0) for leaf in quantity)
            assert low - 1e-6 <= value <= high + 1e-6  # the model holds the truth
            if high - low < 0.5:
                pinned.append((sorted(quantity)[:3], value))
    return protected, pinned


async def test_no_small_count_can_be_pinned_down_from_every_answer(
    sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
) -> None:
    tree, answers, truth = await _answers(sessionmaker, as_role, seed=8)

    protected, pinned = _pinned(tree, answers, truth)

    assert protected > 50  # the provinces do hold many small counts
    assert pinned == []


async def test_without_noise_the_same_solver_pins_small_counts_down(
    sessionmaker: async_sessionmaker[AsyncSession],
    as_role: AsRole,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The adversary is not toothless: with the noise switched off it finds the small counts."""
    monkeypatch.setattr(disclosure, "perturb", lambda value, key_sum, metric: value)
    monkeypatch.setattr(router, "DISCLOSURE", router.DISCLOSURE.model_copy(update={"max_noise": 0}))
    tree, answers, truth = await _answers(sessionmaker, as_role, seed=8)

    protected, pinned = _pinned(tree, answers, truth)

    assert protected > 50
    assert len(pinned) == protected
