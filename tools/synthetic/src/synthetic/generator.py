"""A synthetic province: households with their survey answers, deterministic from a seed.

`generate` spreads the households evenly over the communes (the first communes by code take one
more when the division is not exact) and yields them round-robin, one per commune in turn, so that
any prefix of the stream covers the province. Each commune draws from its own `random.Random`,
seeded from the seed and the commune code: a household's answers depend on the seed, the commune
list, the reference date and its place in its commune, never on the clock or on global state. Its
code is `<commune code>-<running number in the commune, 6 digits>`.

The pure core (`people`, `living`) builds plain dicts; `generate` validates them into the API's
own input models (`HouseholdCreate`, `AssessmentInput`), and `populations` counts them without
validating. The core is written for speed (enum members bound to module names, look-up tables by
age); even so, validating a household as the API would takes about as long as making it.
"""

import math
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import NamedTuple

from households.household.schemas import AssessmentInput, HouseholdCreate
from households.population.schemas import PopulationRow
from kit.contracts.households import Area
from synthetic.calibration import CALIBRATION, Calibration, Standing
from synthetic.draws import Context, Payload, chances
from synthetic.living import household_assessment
from synthetic.people import household_members

REFERENCE_DATE = date(2024, 11, 1)
DEFAULT_SEED = 2024
URBAN, RURAL = Area.urban, Area.rural
LOW_DEPRIVED, LOW, MODEST, COMFORTABLE = Standing


class Commune(NamedTuple):
    """A commune to populate: its 5-digit code and whether it is urban (phường, thị trấn)."""

    code: str
    urban: bool


class SyntheticHousehold(NamedTuple):
    """One household as the API takes it: registration, then its assessment in the round."""

    household: HouseholdCreate
    assessment: AssessmentInput
    area: Area  # the commune's, which the service pins on the assessment


Record = tuple[Payload, Payload, Commune]  # household, assessment, commune


def generate(
    communes: Iterable[Commune | tuple[str, bool]],
    *,
    households: int,
    seed: int = DEFAULT_SEED,
    reference_date: date = REFERENCE_DATE,
    calibration: Calibration = CALIBRATION,
) -> Iterator[SyntheticHousehold]:
    """`households` validated households over `communes`, lazily; the same arguments give the
    same households."""
    ordered = sorted_communes(communes, households)
    return validated(household_records(ordered, households, seed, reference_date, calibration))


def populations(
    communes: Iterable[Commune | tuple[str, bool]],
    *,
    households: int,
    seed: int = DEFAULT_SEED,
    reference_date: date = REFERENCE_DATE,
    calibration: Calibration = CALIBRATION,
) -> list[PopulationRow]:
    """Resident households and persons per commune of what `generate` yields with the same
    arguments, by commune code; communes left without households are left out."""
    ordered = sorted_communes(communes, households)
    counts: dict[str, list[int]] = {}
    for household, assessment, _ in household_records(
        ordered, households, seed, reference_date, calibration
    ):
        tally = counts.setdefault(household["commune_code"], [0, 0])
        tally[0] += 1
        tally[1] += len(assessment["members"])
    return [
        PopulationRow(unit_code=code, resident_households=count, resident_persons=persons)
        for code, (count, persons) in sorted(counts.items())
    ]


def sorted_communes(
    communes: Iterable[Commune | tuple[str, bool]], households: int
) -> list[Commune]:
    """`communes` by code, checked to hold `households` (whatever order they came in)."""
    if households < 0:
        raise ValueError(f"households must be 0 or more, not {households}")
    ordered = sorted(Commune(code, bool(urban)) for code, urban in communes)
    if not ordered:
        raise ValueError("no communes to spread the households over")
    if len({commune.code for commune in ordered}) != len(ordered):
        raise ValueError("a commune is listed twice")
    return ordered


def validated(records: Iterator[Record]) -> Iterator[SyntheticHousehold]:
    """`records` as the API's models, validated as the API validates a request."""
    validate_household = HouseholdCreate.model_validate
    validate_assessment = AssessmentInput.model_validate
    for household, assessment, commune in records:
        yield SyntheticHousehold(
            household=validate_household(household),
            assessment=validate_assessment(assessment),
            area=URBAN if commune.urban else RURAL,
        )


def household_records(
    communes: Sequence[Commune],
    households: int,
    seed: int,
    reference_date: date,
    calibration: Calibration,
    *,
    part: int = 0,
    parts: int = 1,
) -> Iterator[Record]:
    """The records, round-robin over `communes`; only those of the communes whose index is
    `part` modulo `parts`, in the same order, when the work is shared between processes."""
    context = Context(reference_date, calibration)
    rngs = [random.Random(f"{seed}/{commune.code}") for commune in communes]
    risks = _risks(communes, rngs, calibration)
    streams = [
        _commune_records(commune, rng, risk, context)
        for commune, rng, risk in zip(communes, rngs, risks, strict=True)
    ]
    full_rounds, extra = divmod(households, len(communes))
    mine = streams[part::parts]
    for _ in range(full_rounds):
        for stream in mine:
            yield next(stream)
    for stream in streams[part:extra:parts]:
        yield next(stream)


def commune_order(communes: int, households: int) -> Iterator[int]:
    """The index of the commune of each household `household_records` yields, in order."""
    full_rounds, extra = divmod(households, communes)
    for _ in range(full_rounds):
        yield from range(communes)
    yield from range(extra)


def _risks(
    communes: Sequence[Commune], rngs: Sequence[random.Random], calibration: Calibration
) -> list[float]:
    """Each commune's relative risk of deprivation, averaging 1 over `communes`."""
    spread = calibration.commune_spread
    raw = [
        (calibration.urban_risk if commune.urban else calibration.rural_risk)
        * math.exp(spread * rng.gauss(0.0, 1.0) - spread * spread / 2)
        for commune, rng in zip(communes, rngs, strict=True)
    ]
    mean = sum(raw) / len(raw)
    return [risk / mean for risk in raw]


def _commune_records(
    commune: Commune, rng: random.Random, risk: float, context: Context
) -> Iterator[Record]:
    calibration = context.calibration
    r = rng.random
    low_share = calibration.low_share * risk
    modest_share = low_share + calibration.modest_share * math.sqrt(risk)
    wage_bonus = calibration.urban_wage if commune.urban else 0.0
    # Households that pass the income test are deprived less in better-off communes, but the
    # commune matters less for them than for the rest.
    by_standing = [
        chances(
            calibration.profiles[standing],
            risk if standing >= Standing.modest else math.sqrt(risk),
            wage_bonus,
        )
        for standing in Standing
    ]
    villages = 5 + int(r() * 12)
    village_name = "Tổ dân phố" if commune.urban else "Thôn"
    code = commune.code
    number = 0
    while True:
        number += 1
        draw = r()
        if draw < low_share:
            standing = LOW_DEPRIVED if r() < calibration.low_deprived_share else LOW
        elif draw < modest_share:
            standing = MODEST
        else:
            standing = COMFORTABLE
        members, ages = household_members(rng, context, by_standing[standing])
        household = {
            "household_code": f"{code}-{number:06d}",
            "commune_code": code,
            "village": f"{village_name} {1 + int(r() * villages)}",
            "head_name": members[0]["full_name"],
        }
        profile = by_standing[standing].profile
        assessment = household_assessment(
            rng, calibration, profile, standing, commune.urban, members, ages
        )
        yield household, assessment, commune
