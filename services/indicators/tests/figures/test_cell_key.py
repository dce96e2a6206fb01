"""Cell-key perturbation on its own: the table, the keys, and what stays fixed."""

import random
from collections import Counter
from uuid import UUID, uuid4

import pytest

from indicators.figures.cell_key import (
    BUCKET_BITS,
    MAX_NOISE,
    NOISE,
    RecordKeys,
    noise,
    perturb,
)
from indicators.figures.counts import Counts, household_counts

KEYS = RecordKeys(b"test secret")


def _key_sum(households: list[UUID]) -> int:
    return sum(KEYS(household) for household in households)


class TestTable:
    def test_it_has_the_documented_distribution(self) -> None:
        """docs/access.md: P(0) ≈ 0.43, E|n| ≈ 0.95, ±11 once each in 2^16, symmetric."""
        sizes = Counter(NOISE)
        buckets = len(NOISE)

        assert buckets == 1 << BUCKET_BITS
        assert set(sizes) == set(range(-MAX_NOISE, MAX_NOISE + 1))
        assert all(sizes[n] == sizes[-n] for n in sizes)
        assert sizes[MAX_NOISE] == sizes[-MAX_NOISE] == 1
        assert 0.42 < sizes[0] / buckets < 0.44
        assert 0.9 < sum(abs(n) * size for n, size in sizes.items()) / buckets < 1.0
        # geometric: each step away from zero is rarer than the one before
        assert all(sizes[n] >= sizes[n + 1] for n in range(MAX_NOISE))

    def test_cell_keys_spread_over_the_table_as_it_says(self) -> None:
        rng = random.Random(8)
        drawn = Counter(noise(rng.getrandbits(40), "households") for _ in range(40_000))

        sizes = Counter(NOISE)

        for n in range(-3, 4):
            assert drawn[n] / 40_000 == pytest.approx(sizes[n] / len(NOISE), abs=0.01), n


class TestPerturb:
    def test_zero_stays_zero(self) -> None:
        rng = random.Random(1)

        assert {perturb(0, rng.getrandbits(36), "households.poor.rural") for _ in range(500)} == {0}

    def test_a_count_moves_by_at_most_the_bound_and_never_below_zero(self) -> None:
        rng = random.Random(2)
        for _ in range(2000):
            value = rng.randint(1, 30)
            published = perturb(value, rng.getrandbits(36), "persons.near_poor.urban")
            assert published >= 0
            assert abs(published - value) <= MAX_NOISE

    def test_the_same_households_give_the_same_value_in_whatever_order_they_came(self) -> None:
        households = [uuid4() for _ in range(4)]
        shuffled = random.Random(3).sample(households, len(households))
        one, other = Counts(), Counts()
        for tally, order in ((one, households), (other, shuffled)):
            for household in order:
                tally.update(_poor_rural(household))
        # one household passing through another class and back leaves no trace
        other.subtract(_poor_rural(households[0]))
        other.update(_poor_rural(households[0]))

        metric = "households.poor.rural"
        assert one.key_sums[metric] == other.key_sums[metric] == _key_sum(households)
        assert perturb(4, one.key_sums[metric], metric) == perturb(
            4, other.key_sums[metric], metric
        )

    def test_households_and_persons_of_the_same_records_get_independent_noise(self) -> None:
        rng = random.Random(4)
        keys = [rng.getrandbits(40) for _ in range(20_000)]
        same = sum(noise(key, "households") == noise(key, "persons") for key in keys) / len(keys)
        by_chance = sum((size / len(NOISE)) ** 2 for size in Counter(NOISE).values())

        assert same == pytest.approx(by_chance, abs=0.02)  # not 1: independent draws

    def test_other_records_get_other_noise(self) -> None:
        rng = random.Random(7)  # fixed: the tail values are rare enough to miss by chance
        households = [UUID(int=rng.getrandbits(128)) for _ in range(200)]
        noises = [noise(_key_sum(households[:n]), "households") for n in range(1, 200)]

        assert len(set(noises)) >= 7  # 0, ±1, ±2, ±3 all appear among 199 record sets
        assert noises.count(0) < 0.6 * len(noises)

    def test_every_count_of_households_over_the_same_records_moves_alike(self) -> None:
        """Two cells holding the same households (say all poor households of a commune deprived
        in two indicators) are not two noisy copies of one value to average: they move alike."""
        key_sum = _key_sum([uuid4(), uuid4()])
        moved = {
            perturb(20, key_sum, metric) - 20
            for metric in (
                "households.poor.rural",
                "deprived.poor.telecom_use",
                "deprived_dimension.poor.information",
            )
        }

        assert len(moved) == 1


class TestRecordKeys:
    def test_a_household_keeps_its_key_and_the_secret_decides_it(self) -> None:
        household = uuid4()

        assert KEYS(household) == RecordKeys(b"test secret")(household)
        assert KEYS(household) != RecordKeys(b"another secret")(household)
        assert 0 <= KEYS(household) < 1 << 32

    def test_keys_are_spread_over_32_bits(self) -> None:
        keys = [KEYS(uuid4()) for _ in range(2000)]

        assert len(set(keys)) == 2000
        assert sum(key >= 1 << 31 for key in keys) == pytest.approx(1000, abs=120)


def _poor_rural(household: UUID) -> Counts:
    return household_counts(
        household_class="poor",
        area="rural",
        persons=3,
        deprived=[],
        record_key=KEYS(household),
    )
