from collections.abc import Sequence
from fractions import Fraction
from typing import Annotated, ClassVar, Self
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import references
from indicators.figures.router import DISCLOSURE
from indicators.figures.schemas import Disclosure
from indicators.reports import charts
from indicators.reports.router import (
    CHART_RESPONSES,
    AcceptHeader,
    AcceptLanguageHeader,
    ChartFormatQuery,
    LangQuery,
    chart_format_of,
    language_of,
)
from indicators.reports.tables import Lang
from indicators.targets import service as targets_service
from indicators.targets.models import Target
from indicators.targets.service import Observation, TargetKind, TargetMeasure, TargetStatus
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, InvalidInput, NotFound
from kit.fields import RequestBody

router = APIRouter(prefix="/api/v1/targets", tags=["targets"], responses=PROBLEM_RESPONSES)
FiguresReader = Annotated[Caller, requires(Permission.FIGURES_READ)]
TargetWriter = Annotated[Caller, requires(Permission.TARGETS_WRITE)]
TargetId = Annotated[
    UUID, Path(description="The target's id (`POST /api/v1/targets`, `GET /api/v1/targets`).")
]


class TargetCreate(RequestBody):
    unit_code: str = Field(
        pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
        description="The unit's code (province, district or commune) on the latest map it is "
        "known on; a unit of the caller's scope.",
    )
    measure: TargetMeasure = Field(
        default=TargetMeasure.poverty_rate, description="Which rate the target is about."
    )
    kind: TargetKind = Field(
        description="below_by: the rate at or below `value_percent` by the end of "
        "`target_year`; reduction_per_year: down `value_percent` points a year from the "
        "baseline until `target_year`."
    )
    value_percent: float = Field(
        ge=0,
        le=100,
        description="`below_by`: the rate to reach, in % (0.7 = 0.7 %); `reduction_per_year`: "
        "percentage points a year.",
    )
    baseline_year: int = Field(
        ge=2000, le=2100, description="The review year the target starts from."
    )
    baseline_percent: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="The rate at the end of the baseline year, in %. Default: the unit's "
        "figures of the periodic round of that year.",
    )
    target_year: int = Field(
        ge=2000,
        le=2100,
        description="The review year by whose end the target is to be met (after the baseline).",
    )
    note: str | None = Field(
        default=None, max_length=500, description="Free text: the plan or decision it comes from."
    )

    @model_validator(mode="after")
    def _target_after_baseline(self) -> Self:
        if self.target_year <= self.baseline_year:
            raise ValueError("target_year must come after baseline_year")
        return self

    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "unit_code": "26",
                    "kind": "below_by",
                    "value_percent": 0.7,
                    "baseline_year": 2022,
                    "baseline_percent": 0.99,
                    "target_year": 2023,
                    "note": "Vĩnh Phúc: 0.99 % poor at the end of 2022, 0.7 % for 2023",
                }
            ]
        },
    )


class TrajectoryPointRead(BaseModel):
    year: int = Field(description="A review year, from the baseline to the target year.")
    expected_percent: float = Field(
        description="The rate needed at the end of that year, in % (a straight line from the "
        "baseline to the target)."
    )


class ObservationRead(BaseModel):
    round_id: UUID = Field(description="The periodic round of that year whose figures count.")
    year: int = Field(description="The review year.")
    rate_percent: float | None = Field(description="None: no resident population entered.")
    figures_status: str = Field(description="approved or provisional.")
    expected_percent: float = Field(description="The trajectory that year.")
    on_track: bool | None = Field(
        description="Whether the rate is at or below the trajectory that year; None: no rate."
    )


class TargetRead(BaseModel):
    id: UUID = Field(description="The target's id.")
    unit_code: str = Field(description="The unit's code, on the latest map it is known on.")
    unit_path: list[str] = Field(
        description="The unit's ancestors' codes from its province down, then its own."
    )
    measure: TargetMeasure = Field(description="Which rate the target is about.")
    kind: TargetKind = Field(description="How `value_percent` reads.")
    value_percent: float = Field(
        description="`below_by`: the rate to reach, in %; `reduction_per_year`: points a year."
    )
    baseline_year: int = Field(description="The review year the target starts from.")
    baseline_percent: float = Field(
        description="The rate at the end of the baseline year, in % (given, or the unit's "
        "figures of that year's periodic round)."
    )
    target_year: int = Field(description="The review year by whose end it is to be met.")
    target_percent: float = Field(description="Where the trajectory ends.")
    note: str | None = Field(description="Free text given when it was set.")
    created_by: str = Field(description="Who set it (the token's subject).")
    status: TargetStatus = Field(
        description="The latest check's: reached (the latest approved rate meets the target "
        "and no newer provisional one misses it), off_track (the latest rate is above the "
        "trajectory), on_track, or unknown (no figures after the baseline yet)."
    )
    trajectory: list[TrajectoryPointRead] = Field(
        description="The rate needed each review year from the baseline to the target year."
    )
    observations: list[ObservationRead] = Field(
        description="The unit's rate each review year from the baseline on."
    )
    latest_approved: ObservationRead | None = Field(
        description="The latest observation whose figures are approved; None: none yet."
    )
    latest_provisional: ObservationRead | None = Field(
        description="Newer than the latest approved one, when there is one."
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for aggregate-only roles: rates from perturbed counts. The status is "
        "decided on the exact figures.",
    )


class TargetSeriesPoint(BaseModel):
    year: int = Field(description="A review year, from the baseline on.")
    expected_percent: float = Field(
        description="The trajectory that year, in % (flat at the target after the target year)."
    )
    rate_percent: float | None = Field(
        description="The unit's rate that year, in %: its periodic round's figures, as "
        "`observations` give it. None: no figures (or no resident population) that year."
    )
    figures_status: str | None = Field(
        description="approved or provisional; None without figures that year."
    )
    on_track: bool | None = Field(
        description="Whether the rate is at or below the trajectory; None without a rate."
    )


class TargetSeries(BaseModel):
    """The target's chart as numbers: one point a year, trajectory and actual side by side."""

    target_id: UUID = Field(description="The target's id.")
    unit_code: str = Field(description="The unit's code, on the latest map it is known on.")
    measure: TargetMeasure = Field(description="Which rate the target is about.")
    target_year: int = Field(description="The review year by whose end it is to be met.")
    target_percent: float = Field(description="Where the trajectory ends, in %.")
    status: TargetStatus = Field(description="The latest check's status, as on the target.")
    points: list[TargetSeriesPoint] = Field(
        description="From the baseline year to the target year or the latest year with figures, "
        "whichever is later."
    )
    disclosure: Disclosure | None = Field(
        default=None,
        description="Set for aggregate-only roles: rates from perturbed counts, as the target's.",
    )

    model_config: ClassVar[ConfigDict] = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "target_id": "6f1c2b1e-3d4a-4e5f-8a9b-0c1d2e3f4a5b",
                    "unit_code": "26",
                    "measure": "poverty_rate",
                    "target_year": 2023,
                    "target_percent": 0.7,
                    "status": "off_track",
                    "points": [
                        {
                            "year": 2022,
                            "expected_percent": 0.99,
                            "rate_percent": 0.99,
                            "figures_status": "approved",
                            "on_track": True,
                        },
                        {
                            "year": 2023,
                            "expected_percent": 0.7,
                            "rate_percent": 0.81,
                            "figures_status": "provisional",
                            "on_track": False,
                        },
                    ],
                    "disclosure": None,
                }
            ]
        }
    )


class TargetList(BaseModel):
    items: list[TargetRead] = Field(
        description="The targets of units of the caller's scope, by unit code, oldest first."
    )


@router.post("", response_model=TargetRead, status_code=201)
async def create_target(
    caller: TargetWriter, body: TargetCreate, session: SessionDep
) -> TargetRead:
    """Set a target for a unit of the caller's scope (province officers for their subtree), on
    the latest map the unit is known on (the same code may be another unit on an earlier map).

    Records the target with its first status, checked at once against the figures (without an
    event: `indicators.target.progress_changed.v1` announces later changes to `off_track` or
    `reached`). Without `baseline_percent`, the unit's rate in the periodic round of
    `baseline_year` is taken (422 when there is none)."""
    known = await references.latest_unit_path(session, body.unit_code)
    if known is None or not caller.may_see(known[1]):
        raise InvalidInput.field(
            ["body", "unit_code"], f"No unit {body.unit_code} in your scope has figures."
        )
    target = Target(
        unit_code=body.unit_code,
        province_code=known[1][0],
        unit_path=list(known[1]),
        measure=body.measure.value,
        kind=body.kind.value,
        value_percent=body.value_percent,
        baseline_year=body.baseline_year,
        baseline_percent=body.baseline_percent if body.baseline_percent is not None else 0.0,
        target_year=body.target_year,
        note=body.note,
        created_by=caller.subject,
    )
    if body.baseline_percent is None:
        found = await targets_service.observations(session, target)
        baseline = next((o for o in found if o.year == body.baseline_year), None)
        if baseline is None or baseline.rate_percent is None:
            raise InvalidInput.field(
                ["body", "baseline_percent"],
                f"Unit {body.unit_code} has no rate for {body.baseline_year}: give the baseline.",
            )
        target.baseline_percent = float(baseline.rate_percent)
    # The first status is recorded without an event: announcements are of changes.
    decision = targets_service.decide(target, await targets_service.observations(session, target))
    target.status = decision.status.value
    session.add(target)
    await session.flush()
    return await _read(session, caller, target)


@router.get("", response_model=TargetList)
async def list_targets(
    caller: FiguresReader,
    session: SessionDep,
    unit_code: Annotated[
        str | None,
        Query(
            pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
            description="Only the targets of this unit (its code; not the units under it).",
        ),
    ] = None,
) -> TargetList:
    """Targets of units of the caller's scope, with their progress."""
    statement = select(Target).order_by(col(Target.unit_code), col(Target.created_at))
    if unit_code is not None:
        statement = statement.where(col(Target.unit_code) == unit_code)
    targets: Sequence[Target] = (await session.exec(statement)).all()
    return TargetList(
        items=[
            await _read(session, caller, target)
            for target in targets
            if caller.may_see(target.unit_path)
        ]
    )


@router.get("/{target_id}", response_model=TargetRead)
async def get_target(caller: FiguresReader, target_id: TargetId, session: SessionDep) -> TargetRead:
    """A target with its trajectory and the unit's progress along it."""
    return await _read(session, caller, await _visible(session, caller, target_id))


@router.get("/{target_id}/series", response_model=TargetSeries)
async def get_target_series(
    caller: FiguresReader, target_id: TargetId, session: SessionDep
) -> TargetSeries:
    """The target's trajectory against the unit's actual rate, one point a year: what its chart
    draws, for a frontend to draw its own (rates perturbed for aggregate-only roles)."""
    return _series(await _read(session, caller, await _visible(session, caller, target_id)))


@router.get("/{target_id}/chart", response_class=Response, responses=CHART_RESPONSES)
async def get_target_chart(
    caller: FiguresReader,
    target_id: TargetId,
    session: SessionDep,
    lang: LangQuery = None,
    format: ChartFormatQuery = None,
    accept: AcceptHeader = None,
    accept_language: AcceptLanguageHeader = None,
) -> Response:
    """The unit's rate each year against the trajectory its target needs and the target itself,
    as SVG or PNG (by `format` or Accept); provisional figures drawn hollow. The numbers are
    those of `GET /api/v1/targets/{target_id}/series`."""
    series = _series(await _read(session, caller, await _visible(session, caller, target_id)))
    language, chart_format = language_of(lang, accept_language), chart_format_of(format, accept)
    vi = language is Lang.vi
    measure = {
        TargetMeasure.poverty_rate: ("tỷ lệ hộ nghèo", "poverty rate"),
        TargetMeasure.multidimensional_poverty_rate: (
            "tỷ lệ nghèo đa chiều",
            "multidimensional poverty rate",
        ),
    }[series.measure][0 if vi else 1]
    goal = f"{series.target_percent:.2f}%"
    figure = charts.target_trajectory(
        [str(point.year) for point in series.points],
        [point.rate_percent for point in series.points],
        [point.expected_percent for point in series.points],
        target=series.target_percent,
        title=(
            f"Đơn vị {series.unit_code}: {measure} so với mục tiêu {goal} năm {series.target_year}"
            if vi
            else f"Unit {series.unit_code}: {measure} against the target of {goal} by "
            f"{series.target_year}"
        ),
        labels=(
            ("Thực tế", "Lộ trình cần đạt", "Mục tiêu")
            if vi
            else ("Actual", "Trajectory needed", "Target")
        ),
        provisional=[point.figures_status == "provisional" for point in series.points],
        provisional_label="Số liệu tạm thời" if vi else "Provisional figures",
    )
    return Response(
        charts.render(figure, chart_format), media_type=charts.MEDIA_TYPES[chart_format]
    )


@router.delete("/{target_id}", status_code=204)
async def delete_target(caller: TargetWriter, target_id: TargetId, session: SessionDep) -> Response:
    """Withdraw a target: it is deleted and no longer checked, so no further
    `indicators.target.progress_changed.v1` events come for it. Targets are not edited:
    withdraw one and set a new one."""
    target = await _visible(session, caller, target_id)
    await session.delete(target)
    return Response(status_code=204)


async def _visible(session: AsyncSession, caller: Caller, target_id: UUID) -> Target:
    target = await session.get(Target, target_id)
    if target is None or not caller.may_see(target.unit_path):
        raise NotFound(f"No target {target_id}.")
    return target


async def _read(session: AsyncSession, caller: Caller, target: Target) -> TargetRead:
    exact = caller.can(Permission.SMALL_CELLS_READ)
    found = await targets_service.observations(session, target, exact=exact)
    shown = [_observation(target, o) for o in found]
    approved = [o for o in shown if o.figures_status == "approved"]
    latest_approved = approved[-1] if approved else None
    newer = [o for o in shown if latest_approved is None or o.year > latest_approved.year]
    return TargetRead(
        id=target.id,
        unit_code=target.unit_code,
        unit_path=target.unit_path,
        measure=TargetMeasure(target.measure),
        kind=TargetKind(target.kind),
        value_percent=target.value_percent,
        baseline_year=target.baseline_year,
        baseline_percent=target.baseline_percent,
        target_year=target.target_year,
        target_percent=float(targets_service.target_percent(target)),
        note=target.note,
        created_by=target.created_by,
        status=TargetStatus(target.status),
        trajectory=[
            TrajectoryPointRead(year=p.year, expected_percent=float(p.expected_percent))
            for p in targets_service.trajectory(target)
        ],
        observations=shown,
        latest_approved=latest_approved,
        latest_provisional=newer[-1] if newer else None,
        disclosure=None if exact else DISCLOSURE,
    )


def _series(read: TargetRead) -> TargetSeries:
    """One point a year from the baseline: the trajectory (flat after the target year) and the
    observation of that year, both from the target's own answer."""
    expected = {point.year: point.expected_percent for point in read.trajectory}
    seen = {observation.year: observation for observation in read.observations}
    last = max([read.target_year, *seen])
    points = []
    for year in range(read.baseline_year, last + 1):
        observation = seen.get(year)
        points.append(
            TargetSeriesPoint(
                year=year,
                expected_percent=expected.get(year, read.target_percent),
                rate_percent=observation.rate_percent if observation else None,
                figures_status=observation.figures_status if observation else None,
                on_track=observation.on_track if observation else None,
            )
        )
    return TargetSeries(
        target_id=read.id,
        unit_code=read.unit_code,
        measure=read.measure,
        target_year=read.target_year,
        target_percent=read.target_percent,
        status=read.status,
        points=points,
        disclosure=read.disclosure,
    )


def _observation(target: Target, found: Observation) -> ObservationRead:
    expected = targets_service.expected_in(target, found.year)
    rate: Fraction | None = found.rate_percent
    return ObservationRead(
        round_id=found.round_id,
        year=found.year,
        rate_percent=None if rate is None else float(rate),
        figures_status=found.figures_status.value,
        expected_percent=float(expected),
        on_track=None if rate is None else rate <= expected,
    )
