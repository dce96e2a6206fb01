from collections import Counter
from fractions import Fraction
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from indicators.alkire_foster import service as af_service
from indicators.alkire_foster.measures import DEFAULT_K, equal_nested_weights, measures
from indicators.figures import references
from indicators.figures.cell_key import perturb
from indicators.figures.router import DISCLOSURE
from indicators.figures.schemas import Disclosure
from indicators.standard.schemas import Standard
from indicators.standard.service import get_standard
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, InvalidInput, NotFound

router = APIRouter(
    prefix="/api/v1/alkire-foster", tags=["alkire-foster"], responses=PROBLEM_RESPONSES
)
FiguresReader = Annotated[Caller, requires(Permission.FIGURES_READ)]
NOT_OFFICIAL = (
    "Alkire–Foster measures (OPHI) computed from the households' deprivations: an analysis, "
    "not an official statistic. The official figures are the poverty rates of /api/v1/figures."
)


class IndicatorMeasures(BaseModel):
    key: str = Field(description="The indicator's key in the round's standard.")
    weight: str = Field(description="w_j, as a fraction.")
    censored_headcount: float | None = Field(
        description="h_j(k): share of households poor and deprived in it; None with none."
    )
    contribution: float | None = Field(
        description="φ_j = w_j h_j(k) / M0 (they sum to 1); None when no household is poor."
    )


class AlkireFoster(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    unit_code: str = Field(description="The unit's code, on the round's map.")
    standard_id: str = Field(description="The round's standard, whose indicators are weighed.")
    official_statistic: bool = Field(default=False, description="Always false.")
    note: str = Field(default=NOT_OFFICIAL, description="What these measures are, for people.")
    k: str = Field(description="The cut-off, as a fraction; poor when the score c_i >= k.")
    households: int = Field(
        description="n: the unit's surveyed households. Perturbed for callers who see aggregates "
        "only (see `disclosure`)."
    )
    poor: int = Field(description="q: households with a score of at least k.")
    H: float | None = Field(description="Headcount ratio q / n; None without households.")
    A: float | None = Field(description="Intensity: mean score of the poor; None with none.")
    M0: float | None = Field(description="Adjusted headcount ratio H · A.")
    indicators: list[IndicatorMeasures] = Field(
        description="Each indicator of the standard, in its order: weight, censored headcount, "
        "contribution."
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for callers who see aggregates only: the counts behind the measures "
        "perturbed per commune, the measures computed from them. None: exact.",
    )


def parse_fraction(text: str, loc: list[str]) -> Fraction:
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        message = f"{text!r} is not a number or a fraction such as 3/12."
        raise InvalidInput.field(loc, message) from None
    return value


def parse_weights(text: str | None, standard: Standard) -> dict[str, Fraction]:
    """`key:fraction,...` for every indicator of the standard, summing to 1; None: equal
    nested weights."""
    if text is None:
        return equal_nested_weights(standard)
    loc = ["query", "weights"]
    keys = [indicator.key for indicator in standard.indicators]
    weights: dict[str, Fraction] = {}
    for item in text.split(","):
        key, sep, value = item.partition(":")
        key = key.strip()
        if not sep or key not in keys or key in weights:
            raise InvalidInput.field(
                loc,
                f"{item!r}: each item is `indicator:weight`, once for each of {standard.id}'s "
                f"indicators ({', '.join(keys)}).",
            )
        weights[key] = parse_fraction(value, loc)
        if weights[key] < 0:
            raise InvalidInput.field(loc, f"{key}: a weight is not negative.")
    missing = [key for key in keys if key not in weights]
    if missing:
        raise InvalidInput.field(loc, f"No weight for {', '.join(missing)}.")
    if sum(weights.values()) != 1:
        raise InvalidInput.field(loc, f"The weights sum to {sum(weights.values())}, not 1.")
    return weights


@router.get("/{round_id}/{unit_code}", response_model=AlkireFoster)
async def get_alkire_foster(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: Annotated[str, Path(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$")],
    session: SessionDep,
    k: Annotated[
        str,
        Query(
            max_length=40,
            description="The cut-off k in (0, 1], a fraction or a decimal. Scores are compared "
            "with it exactly (rational arithmetic).",
        ),
    ] = "3/12",
    weights: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="`indicator:weight,...` for every indicator of the round's standard, "
            "fractions or decimals summing to 1. Default: equal nested weights (each dimension "
            "1/d, shared equally by its indicators: 1/12 each for VN-2022-2025).",
            openapi_examples={
                "the information dimension weighing a third": {
                    "value": "employment:1/15,dependants:1/15,nutrition:1/15,"
                    "health_insurance:1/15,adult_education:1/15,school_attendance:1/15,"
                    "housing_quality:1/15,floor_area:1/15,domestic_water:1/15,"
                    "hygienic_latrine:1/15,telecom_use:1/6,information_devices:1/6"
                }
            },
        ),
    ] = None,
) -> AlkireFoster:
    """Alkire–Foster H, A, M0, censored headcounts and contributions of a unit in a round,
    over its surveyed households (households that no indicator could be evaluated for count as
    not deprived in it). Not an official statistic.

    For roles that see aggregates only, the counts behind the measures are perturbed per commune
    (`disclosure`), as the figures' counts are, and the measures computed from them."""
    facts = await references.round_facts(session, round_id)
    known = await references.unit_path(session, round_id, unit_code)
    if facts is None or known is None or not caller.may_see(known[1]):
        raise NotFound(f"No figures for unit {unit_code} in round {round_id} yet.")
    standard = get_standard(facts[0])
    cut_off = parse_fraction(k, ["query", "k"]) if k != "3/12" else DEFAULT_K
    if not 0 < cut_off <= 1:
        raise InvalidInput.field(["query", "k"], f"k = {cut_off} is not in (0, 1].")
    chosen = parse_weights(weights, standard)
    cells = await af_service.commune_cells(session, round_id, unit_code, chosen, cut_off)
    summed: Counter[str] = Counter()
    exact = caller.can(Permission.SMALL_CELLS_READ)
    for commune in cells.values():
        for metric, value, key_sum in commune.items():
            summed[metric] += value if exact else perturb(value, key_sum, metric)
    order = [indicator.key for indicator in standard.indicators]
    found = measures(af_service.tallies(summed), chosen, order)
    return AlkireFoster(
        round_id=round_id,
        unit_code=unit_code,
        standard_id=standard.id,
        k=str(cut_off),
        households=found.households,
        poor=found.poor,
        H=_float(found.H),
        A=_float(found.A),
        M0=_float(found.M0),
        indicators=[
            IndicatorMeasures(
                key=key,
                weight=str(chosen[key]),
                censored_headcount=_float(found.censored_headcount[key]),
                contribution=_float(found.contribution[key]),
            )
            for key in order
        ],
        disclosure=None if exact else DISCLOSURE,
    )


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)
