"""Targets against the figures: the trajectory a target needs, where a unit's rate is, and the
periodic check that records each target's status and announces it going off track or reached.

Rates are compared exactly (`Fraction`): 7 poor of 1,000 resident households is 0.7 % and meets a
target of 0.7 %. A rate is at or below the target when it meets it ("below 1 % by 2025" reads as
at most 1 %: the provincial plans mean the published figure, rounded as published).

Why a periodic check and not a hook where figures are written: figures change through several
paths (the consumer's incremental updates, recalculations, the bulk set-wise path, a commune's
review approved or reopened, populations entered), and more will come; a check that reads the
figures as they are sees every one of them and cannot be bypassed by a new path. Each status
change is written with its event through the outbox in one transaction, under a compare-and-set
on the status's change count, so two workers checking at once announce it once.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fractions import Fraction
from uuid import UUID

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.as_of.service import is_regular
from indicators.db import outbox
from indicators.figures import service as figures_service
from indicators.figures.counts import RESIDENT_HOUSEHOLDS, SURVEYED_HOUSEHOLDS
from indicators.figures.disclosure import perturbed_leaves, published
from indicators.figures.models import RoundRef
from indicators.review import service as review_service
from indicators.review.service import Status as ReviewStatus
from indicators.targets.models import Target
from kit.contracts import Envelope
from kit.contracts.indicators import TargetProgressChangedV1
from kit.db import utc_now
from kit.messaging import stage


class TargetMeasure(StrEnum):
    """Which rate a target is about.

    - `poverty_rate`: poor ÷ resident households, in %
    - `multidimensional_poverty_rate`: (poor + near-poor) ÷ resident households, in %, as the
      ministry publishes it
    """

    poverty_rate = "poverty_rate"
    multidimensional_poverty_rate = "multidimensional_poverty_rate"


class TargetKind(StrEnum):
    """How a target reads its value.

    - `below_by`: the rate at or below `value_percent` by the end of `target_year`
    - `reduction_per_year`: the rate down `value_percent` points a year from the baseline until
      `target_year` (not below 0)
    """

    below_by = "below_by"
    reduction_per_year = "reduction_per_year"


class TargetStatus(StrEnum):
    """Where a unit stands against its target (the latest check's).

    - `unknown`: no figures after the baseline year yet (or no resident population)
    - `on_track`: the latest rate (approved or provisional) at or below the trajectory that year
    - `off_track`: the latest rate above the trajectory that year
    - `reached`: the latest approved rate meets the target and no newer provisional one misses it
    """

    unknown = "unknown"
    on_track = "on_track"
    off_track = "off_track"
    reached = "reached"


ANNOUNCED = (TargetStatus.off_track, TargetStatus.reached)


@dataclass(frozen=True)
class TrajectoryPoint:
    year: int
    expected_percent: Fraction


@dataclass(frozen=True)
class Observation:
    """A unit's rate in a periodic round (its review year's end)."""

    round_id: UUID
    year: int
    rate_percent: Fraction | None
    figures_status: ReviewStatus


def percent(value: float) -> Fraction:
    """A percentage as typed (0.7 is 7/10, not the float nearest to it)."""
    return Fraction(str(value))


def target_percent(target: Target) -> Fraction:
    """Where the trajectory ends."""
    if target.kind == TargetKind.below_by:
        return percent(target.value_percent)
    years = target.target_year - target.baseline_year
    return max(
        Fraction(0), percent(target.baseline_percent) - years * percent(target.value_percent)
    )


def expected_in(target: Target, year: int) -> Fraction:
    """The trajectory's rate in a year: a straight line from the baseline to the target, flat
    after the target year."""
    start, end = percent(target.baseline_percent), target_percent(target)
    span = target.target_year - target.baseline_year
    elapsed = min(max(year - target.baseline_year, 0), span)
    return start + (end - start) * Fraction(elapsed, span)


def trajectory(target: Target) -> list[TrajectoryPoint]:
    """The rate needed each review year from the baseline to the target year: the points a chart
    of the target against the figures draws."""
    return [
        TrajectoryPoint(year, expected_in(target, year))
        for year in range(target.baseline_year, target.target_year + 1)
    ]


def rate(counters: Mapping[str, int], measure: str) -> Fraction | None:
    resident = counters.get(RESIDENT_HOUSEHOLDS, 0)
    if not resident:
        return None
    counted = counters.get("households.poor", 0)
    if measure == TargetMeasure.multidimensional_poverty_rate:
        counted += counters.get("households.near_poor", 0)
    return Fraction(100 * counted, resident)


async def observations(
    session: AsyncSession, target: Target, *, exact: bool = True
) -> list[Observation]:
    """The unit's rate in each periodic round from the baseline year on, oldest first (the
    newest round of a year when there are several); perturbed counts unless `exact`."""
    rounds = (await session.exec(select(RoundRef))).all()
    newest: dict[int, RoundRef] = {}
    for round_ in rounds:
        if is_regular(round_) or round_.year < target.baseline_year:
            continue
        known = newest.get(round_.year)
        if known is None or _day(round_) > _day(known):
            newest[round_.year] = round_
    found = []
    for year in sorted(newest):
        round_id = newest[year].round_id
        counters, _ = await figures_service.read(session, round_id, target.unit_code)
        if not counters.get(SURVEYED_HOUSEHOLDS):
            continue
        if not exact:
            cells = await figures_service.commune_cells(session, round_id, target.unit_code)
            leaves = perturbed_leaves((metric, value, key) for _, metric, value, key in cells)
            counters = published(counters, leaves)
        approval = await _approval(session, round_id, target)
        found.append(Observation(round_id, year, rate(counters, target.measure), approval))
    return found


def _day(round_: RoundRef) -> date:
    return round_.reference_date or date(round_.year, 1, 1)


async def _approval(session: AsyncSession, round_id: UUID, target: Target) -> ReviewStatus:
    if len(target.unit_path) == 1:
        approved = await review_service.province_approved(session, round_id, target.unit_code)
        return ReviewStatus.approved if approved else ReviewStatus.provisional
    if len(target.unit_code) == 5:
        communes = [target.unit_code]
        approved_communes = await review_service.approved_communes(session, round_id, communes)
    else:
        surveyed = await figures_service.surveyed_communes(session, round_id, target.unit_code)
        communes = [row.commune for row in surveyed]
        approved_communes = {row.commune for row in surveyed if row.approved}
    return review_service.approval(communes, approved_communes).status


@dataclass(frozen=True)
class Decision:
    status: TargetStatus
    by: Observation | None  # the figures that decided it
    expected_percent: Fraction | None


def decide(target: Target, found: Sequence[Observation]) -> Decision:
    """Reached when the latest approved rate meets the target and no newer provisional rate
    misses it; else off track when the latest rate (approved or provisional) is above the
    trajectory that year, on track when at or below it; unknown without a rate after the
    baseline year."""
    after = [o for o in found if o.year > target.baseline_year and o.rate_percent is not None]
    if not after:
        return Decision(TargetStatus.unknown, None, None)
    latest = after[-1]
    assert latest.rate_percent is not None
    goal = target_percent(target)
    approved = [o for o in after if o.figures_status == ReviewStatus.approved]
    if approved:
        last_approved = approved[-1]
        newer = [o for o in after if o.year > last_approved.year]
        if last_approved.rate_percent is not None and last_approved.rate_percent <= goal:
            if all(o.rate_percent is not None and o.rate_percent <= goal for o in newer):
                return Decision(TargetStatus.reached, last_approved, goal)
    expected = expected_in(target, latest.year)
    status = TargetStatus.off_track if latest.rate_percent > expected else TargetStatus.on_track
    return Decision(status, latest, expected)


async def check_targets(session: AsyncSession) -> int:
    """Check every target against the figures; record each status change, and stage the event
    of each change to off track or reached. The number of events staged."""
    targets = (await session.exec(select(Target).order_by(col(Target.id)))).all()
    staged = 0
    for target in targets:
        decision = decide(target, await observations(session, target))
        if decision.status == target.status:
            continue
        previous, changes = target.status, target.status_changes
        result = await session.exec(
            update(Target)
            .where(col(Target.id) == target.id, col(Target.status_changes) == changes)
            .values(status=decision.status.value, status_changes=changes + 1, checked_at=utc_now())
        )
        if result.rowcount != 1:
            continue  # another worker recorded it first
        if decision.status in ANNOUNCED and decision.by is not None:
            await stage(session, outbox, _event(target, decision, previous, changes + 1))
            staged += 1
    return staged


def _event(target: Target, decision: Decision, previous: str, sequence: int) -> Envelope:
    by = decision.by
    assert by is not None
    assert by.rate_percent is not None
    event = TargetProgressChangedV1(
        target_id=target.id,
        unit_code=target.unit_code,
        unit_path=list(target.unit_path),
        measure=target.measure,
        kind=target.kind,
        target_year=target.target_year,
        target_percent=float(target_percent(target)),
        status=decision.status.value,
        previous_status=previous,
        year=by.year,
        round_id=by.round_id,
        figures_status=by.figures_status.value,
        rate_percent=float(by.rate_percent),
        expected_percent=float(decision.expected_percent or target_percent(target)),
    )
    return Envelope.wrap(
        event, producer="indicators", subject=f"target:{target.id}", sequence=sequence
    )
