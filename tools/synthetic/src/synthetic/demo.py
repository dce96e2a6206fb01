"""Loads the demo of `make run`: one province's synthetic households before and after the 2025 map.

The households live in Vĩnh Phúc (province 26 until 30 June 2025), which was merged whole into Phú
Thọ (25) on 1 July 2025, its 121 communes into 36. Three periodic rounds cover them:

- **2022** on the old map, the province's targets' baseline: the same households (by code) with
  answers drawn afresh from `BASELINE_SEED`, picked so that the 3,000-household demo shows about
  Vĩnh Phúc's published end-2022 figures, 0.99 % poor and 1.71 % near-poor (it shows 30 and 51 of
  3,000: 1.00 % and 1.70 %); reviewed and approved like 2024. The generator keeps no household
  histories, so a household's members in 2022 are not its members of 2024;
- **2024** on the old map: every household surveyed, every commune's review taken through its
  village meetings and public posting to `approved`, and the province's approval given;
- **2026** on today's map: the households carried across to their new communes by the relocation
  service (each old commune has exactly one successor), two communes in three re-surveyed, one of
  them `posted` and another `surveyed`; the walk-through's commune (`WALK_THROUGH_COMMUNE`) is
  left `open` and unsurveyed for the README's commune officer;
- between them, a digital team in each commune of today's map gives support to about half of the
  households deprived in telecom use or information devices, and the 2026 survey of a supported
  household shows it (`synthetic.digital`).

Given a client of the platform (`indicators`: the embedded launcher passes one acting as the
loader), the province's targets are then set (poverty rate 0.7 % by the end of 2023 and at most
1 % by 2025, from 0.99 % at the end of 2022: `TARGETS`) and the illustrative context series of
`demo_context_series.csv` imported, through the indicators service's API as a province officer
would; both wait until the indicators service has learned the province from the rounds' events.

Every stage is resumable: each transaction leaves a state that the next start recognises (a round
opened with its populations, a batch of households with their surveys, a commune's review, a
batch of households moved, a target set, a batch of context values), and each stage does only
what is missing. A load stopped at any point (a newcomer's Ctrl-C during the first minute) is
completed by the next start. A data folder loaded before the 2022 round existed gets it only for
the households not yet carried across (`rm -rf data` for the whole demo).
"""

import asyncio
import csv
import io
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from itertools import islice
from typing import Any
from uuid import UUID

import httpx
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.household import surveys
from households.household.models import Assessment, Household
from households.household.schemas import AssessmentInput
from households.population import service as population_service
from households.population.schemas import PopulationRow
from households.relocation import service as relocation_service
from households.review import service as review_service
from households.review.schemas import AgreementInput, MeetingInput, StepInput
from households.round import service as round_service
from households.round.models import ReviewRound, RoundKind
from households.round.schemas import RoundCreate
from households.unit import service as unit_service
from households.unit.models import AdminUnit
from kit.auth import Caller, Role
from kit.contracts.households import ReviewState
from synthetic import Commune, SyntheticHousehold, generate, populations, province_communes
from synthetic.digital import Loader, support_information_deprived

log = structlog.get_logger()

# The demo loader acts on its own: audit entries and events name it as their actor.
LOADER = Caller(subject="system:demo-loader", role=Role.ADMIN, unit_scope=None)

OLD_PROVINCE = "26"  # Tỉnh Vĩnh Phúc, until 30 June 2025
NEW_PROVINCE = "25"  # Tỉnh Phú Thọ, which took it over whole
WALK_THROUGH_COMMUNE = "08707"  # Phường Vĩnh Yên (2025): four old communes merged whole

BASELINE_ROUND = RoundCreate(
    year=2022,
    kind=RoundKind.periodic,
    reference_date=date(2022, 11, 1),
    standard_id="VN-2022-2025",
    name="Periodic review 2022 (demo)",
)
# Of the seeds 2000-2099, the one whose 3,000-household 2022 sample is nearest Vĩnh Phúc's
# end-2022 figures (0.99 % poor, 1.71 % near-poor; DOMAIN §1): 30 poor and 51 near-poor. The
# calibration aims at them for a whole province; the seed only picks a sample that lands there.
BASELINE_SEED = 2081
OLD_ROUND = RoundCreate(
    year=2024,
    kind=RoundKind.periodic,
    reference_date=date(2024, 11, 1),
    standard_id="VN-2022-2025",
    name="Periodic review 2024 (demo)",
)
NEW_ROUND = RoundCreate(
    year=2026,
    kind=RoundKind.periodic,
    reference_date=date(2026, 11, 1),
    standard_id="VN-2022-2025",
    name="Periodic review 2026 (demo)",
)

ORDER = [ReviewState.open, ReviewState.surveyed, ReviewState.posted, ReviewState.approved]
VILLAGERS_PER_HOUSEHOLD = 2  # a village meeting's attendance, per household it discusses


@dataclass(frozen=True)
class Calendar:
    """When a commune's village meetings were held and its lists were posted."""

    meetings: date
    posting_from: date
    posting_until: date


OLD_CALENDAR = Calendar(date(2024, 11, 20), date(2024, 11, 25), date(2024, 12, 4))
BASELINE_CALENDAR = Calendar(date(2022, 11, 20), date(2022, 11, 25), date(2022, 12, 4))

# The province's targets (DOMAIN §1), as `POST /api/v1/targets` takes them.
TARGETS: list[dict[str, Any]] = [
    {
        "unit_code": OLD_PROVINCE,
        "measure": "poverty_rate",
        "kind": "below_by",
        "value_percent": 0.7,
        "baseline_year": 2022,
        "baseline_percent": 0.99,
        "target_year": 2023,
        "note": "Vĩnh Phúc: 0.99 % poor at the end of 2022, 0.7 % for the end of 2023 (demo)",
    },
    {
        "unit_code": OLD_PROVINCE,
        "measure": "poverty_rate",
        "kind": "below_by",
        "value_percent": 1.0,
        "baseline_year": 2022,
        "baseline_percent": 0.99,
        "target_year": 2025,
        "note": "Vĩnh Phúc: poverty rate below 1 % by 2025 (demo)",
    },
]
CONTEXT_SERIES_FILE = "demo_context_series.csv"
FIGURES_WAIT_SECONDS = 2.0  # between asks while the indicators service learns the province
FIGURES_WAIT_TRIES = 300  # ten minutes: the 3,000 households' events are handled by then


def current_calendar() -> Calendar:
    """The 2026 round is in progress: its meetings held last week, its posting running now."""
    today = review_service.today()
    return Calendar(today - timedelta(days=7), today - timedelta(days=3), today + timedelta(days=7))


@dataclass(frozen=True)
class Demo:
    sessionmaker: async_sessionmaker[AsyncSession]
    rules: review_service.Rules
    batch: int


async def load_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    households: int = 3000,
    seed: int = 2024,
    batch: int = 100,
    rules: review_service.Rules | None = None,
    baseline_seed: int = BASELINE_SEED,
    indicators: httpx.AsyncClient | None = None,
) -> int:
    """Load what is missing of the demo; the number of households registered by this call.

    `indicators`: a client of the platform acting as the loader, to set the targets and import
    the context series through the indicators service (without one, neither is loaded)."""
    structlog.contextvars.bind_contextvars(actor=LOADER.subject)
    # The demo's meetings agree unanimously: any threshold passes them.
    demo = Demo(sessionmaker, rules or review_service.Rules(min_agreement_percent=100), batch)
    async with sessionmaker() as session:
        communes = await province_communes(session, OLD_PROVINCE, on=OLD_ROUND.reference_date)
        successors = await _successors(session, [commune.code for commune in communes])
    rows = populations(
        communes, households=households, seed=seed, reference_date=OLD_ROUND.reference_date
    )
    old_round = await _round(demo, OLD_ROUND, rows)
    registered = await _survey_generated(
        demo,
        old_round,
        generate(
            communes, households=households, seed=seed, reference_date=OLD_ROUND.reference_date
        ),
    )
    for commune in communes:
        await _advance(demo, old_round, commune.code, ReviewState.approved, OLD_CALENDAR)
    await _approve_province(demo, old_round, OLD_PROVINCE)
    await _baseline_round(demo, communes, households=households, seed=baseline_seed)
    await _carry_across(demo)

    new_communes = sorted(set(successors.values()))
    new_round = await _round(demo, NEW_ROUND, _merged(rows, successors))
    resurveyed = [
        code
        for index, code in enumerate(new_communes)
        if index % 3 != 2 and code != WALK_THROUGH_COMMUNE
    ]
    # Before the re-survey, which then leaves the supported households' new surveys as they are.
    await support_information_deprived(
        Loader(demo.sessionmaker, LOADER, demo.batch), old_round, new_round, resurveyed
    )
    await _resurvey(demo, old_round, new_round, resurveyed)
    calendar = current_calendar()
    for code, state in zip(resurveyed, [ReviewState.posted, ReviewState.surveyed], strict=False):
        await _advance(demo, new_round, code, state, calendar)
    if indicators is not None:
        await _set_targets(indicators)
        await _import_context_series(indicators)
    log.info("demo.loaded", households=households, communes=len(communes), new=len(new_communes))
    return registered


async def _successors(session: AsyncSession, codes: Sequence[str]) -> dict[str, str]:
    """Each old commune's one successor on today's map (Vĩnh Phúc's were all merged whole)."""
    successors = {}
    for code in codes:
        unit = await unit_service.get_commune(session, code, on=OLD_ROUND.reference_date)
        assert unit is not None  # listed by `province_communes` on that day
        lineage = await unit_service.successors(session, unit)
        if len(lineage) != 1:
            raise ValueError(f"commune {code} went into {len(lineage)} communes, not one")
        successors[code] = lineage[0][1].code
    return successors


def _merged(rows: Sequence[PopulationRow], successors: dict[str, str]) -> list[PopulationRow]:
    """The old communes' populations added up into their successors'."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        total = totals[successors[row.unit_code]]
        total[0] += row.resident_households
        total[1] += row.resident_persons
    return [
        PopulationRow(unit_code=code, resident_households=count, resident_persons=persons)
        for code, (count, persons) in sorted(totals.items())
    ]


async def _round(demo: Demo, round_in: RoundCreate, rows: Sequence[PopulationRow]) -> ReviewRound:
    """The round, opened with its communes' populations (first, so that rates show from the first
    classified household on) in one transaction unless it exists."""
    async with demo.sessionmaker() as session, session.begin():
        existing = await session.exec(
            select(ReviewRound).where(
                ReviewRound.year == round_in.year,
                ReviewRound.kind == round_in.kind,
                ReviewRound.reference_date == round_in.reference_date,
            )
        )
        review_round = existing.one_or_none()
        if review_round is None:
            review_round = await round_service.open_round(
                session, round_in, known_standards=[round_in.standard_id]
            )
            await population_service.import_rows(
                session, review_round, dict(enumerate(rows)), LOADER
            )
        session.expunge(review_round)
    return review_round


async def _survey_generated(
    demo: Demo, review_round: ReviewRound, synthetic: Iterator[SyntheticHousehold]
) -> int:
    """Register each generated household not registered yet, with its survey in the round, a
    batch to a transaction."""
    registered = 0
    while chunk := list(islice(synthetic, demo.batch)):
        codes = [item.household.household_code for item in chunk]
        async with demo.sessionmaker() as session, session.begin():
            known = select(Household.household_code).where(col(Household.household_code).in_(codes))
            existing = set((await session.exec(known)).all())
            new = [
                surveys.Survey(item.assessment, registration=item.household)
                for item in chunk
                if item.household.household_code not in existing
            ]
            await _recorded(session, new, review_round)
            registered += len(new)
        if registered:
            log.info("demo.loading", round=review_round.year, households=registered)
    return registered


async def _recorded(
    session: AsyncSession, batch: Sequence[surveys.Survey], review_round: ReviewRound
) -> None:
    """Record the surveys as the API records them (one event each), all of them or none."""
    for outcome in await surveys.record(session, batch, review_round=review_round, caller=LOADER):
        if isinstance(outcome, surveys.Refused):
            raise outcome.refusals[0].error


async def _advance(
    demo: Demo, review_round: ReviewRound, code: str, target: ReviewState, calendar: Calendar
) -> None:
    """Take the commune's review to `target` as its officers would, in one transaction: village
    meetings on every household not discussed yet, the posting, the recognition. A commune
    already there (or past it) is left alone; one without any survey stays `open`."""
    async with demo.sessionmaker() as session, session.begin():
        commune = await unit_service.get_commune(session, code, on=review_round.reference_date)
        assert commune is not None  # a commune of the round's map
        state = (await review_service.read(session, review_round, commune)).state
        if state is ReviewState.open and not await _has_surveys(session, review_round, code):
            return
        while ORDER.index(state) < ORDER.index(target):
            step = StepInput(to=ORDER[ORDER.index(state) + 1])
            if step.to is ReviewState.posted:
                await _hold_meetings(demo, session, review_round, commune, calendar)
                step = step.model_copy(
                    update={
                        "posting_from": calendar.posting_from,
                        "posting_until": calendar.posting_until,
                    }
                )
            moved = await review_service.move(
                session, review_round, commune, step, LOADER, demo.rules
            )
            state = moved.state


async def _has_surveys(session: AsyncSession, review_round: ReviewRound, code: str) -> bool:
    surveys = select(Assessment.id).where(
        Assessment.round_id == review_round.id, Assessment.commune_code == code
    )
    return (await session.exec(surveys.limit(1))).first() is not None


async def _hold_meetings(
    demo: Demo,
    session: AsyncSession,
    review_round: ReviewRound,
    commune: AdminUnit,
    calendar: Calendar,
) -> None:
    """One meeting per village on its surveyed households not discussed yet, all agreeing."""
    meetings = await review_service.list_meetings(session, review_round, commune, demo.rules)
    undiscussed = [ref.household_id for ref in meetings.not_discussed]
    villages: dict[str, list[UUID]] = defaultdict(list)
    statement = select(Household.id, Household.village).where(col(Household.id).in_(undiscussed))
    for household_id, village in (await session.exec(statement.order_by(col(Household.id)))).all():
        villages[village].append(household_id)
    for village, household_ids in sorted(villages.items()):
        attendance = VILLAGERS_PER_HOUSEHOLD * len(household_ids)
        meeting = MeetingInput(
            village=village,
            held_on=calendar.meetings,
            attendance=attendance,
            agreements=[
                AgreementInput(household_id=household_id, agreeing=attendance)
                for household_id in household_ids
            ],
        )
        await review_service.record_meeting(
            session, review_round, commune, meeting, LOADER, demo.rules
        )


async def _approve_province(demo: Demo, review_round: ReviewRound, code: str) -> None:
    """The province's approval, once every commune it covers is approved."""
    async with demo.sessionmaker() as session, session.begin():
        province = await unit_service.get(session, code, on=review_round.reference_date)
        assert province is not None
        status = await review_service.province_status(session, review_round, province)
        if status.approved:
            return
        pending = [c.commune_code for c in status.communes if c.state is not ReviewState.approved]
        if pending:  # fewer households than communes: some communes were never surveyed
            log.info("demo.province_not_approved", province=code, pending=len(pending))
            return
        await review_service.approve_province(session, review_round, province, LOADER)


async def _carry_across(demo: Demo) -> None:
    """Carry every household of the old map across, as a province officer does through
    `POST /api/v1/households/relocations`, a batch to a transaction: Vĩnh Phúc's communes merged
    whole, so each household goes to its old commune's one successor."""
    on = NEW_ROUND.reference_date
    moved = 0
    while True:
        async with demo.sessionmaker() as session, session.begin():
            batch = await relocation_service.carry(
                session, LOADER, into=None, limit=demo.batch, on=on
            )
        if not batch.carried:
            return
        moved += batch.carried
        log.info("demo.carrying_across", households=moved)


async def _resurvey(
    demo: Demo, old_round: ReviewRound, new_round: ReviewRound, communes: Sequence[str]
) -> None:
    """Survey the households of `communes` in the new round with their answers of the old one
    (the same people, two years on), those not surveyed yet, a batch to a transaction."""
    surveyed = 0
    while True:
        async with demo.sessionmaker() as session, session.begin():
            done = select(Assessment.household_id).where(Assessment.round_id == new_round.id)
            statement = (
                select(Household, Assessment)
                .join(Assessment, col(Assessment.household_id) == col(Household.id))
                .where(
                    Assessment.round_id == old_round.id,
                    col(Household.commune_code).in_(communes),
                    col(Household.id).not_in(done),
                )
                .order_by(col(Household.commune_code), col(Household.household_code))
            )
            rows = (await session.exec(statement.limit(demo.batch))).all()
            again = [
                surveys.Survey(
                    AssessmentInput.model_validate(before, from_attributes=True),
                    household=household,
                )
                for household, before in rows
            ]
            await _recorded(session, again, new_round)
        if not rows:
            return
        surveyed += len(rows)
        log.info("demo.loading", round=new_round.year, households=surveyed)


async def _baseline_round(
    demo: Demo, communes: Sequence[Commune], *, households: int, seed: int
) -> None:
    """The 2022 round on the old map: opened with its populations, the households surveyed with
    answers drawn for 2022, every commune's review approved and the province's approval given."""
    on = BASELINE_ROUND.reference_date
    rows = populations(communes, households=households, seed=seed, reference_date=on)
    baseline = await _round(demo, BASELINE_ROUND, rows)
    await _survey_earlier(
        demo,
        baseline,
        generate(communes, households=households, seed=seed, reference_date=on),
    )
    for commune in communes:
        await _advance(demo, baseline, commune.code, ReviewState.approved, BASELINE_CALENDAR)
    await _approve_province(demo, baseline, OLD_PROVINCE)


async def _survey_earlier(
    demo: Demo, review_round: ReviewRound, synthetic: Iterator[SyntheticHousehold]
) -> None:
    """Survey the households registered since (by code, in their commune) in an earlier round,
    those not surveyed in it yet, a batch to a transaction; a household not registered is
    registered with its survey. One carried across to today's map already is left out: its old
    commune is no longer its own (a data folder loaded before this round existed)."""
    surveyed = carried = 0
    while chunk := list(islice(synthetic, demo.batch)):
        codes = [item.household.household_code for item in chunk]
        async with demo.sessionmaker() as session, session.begin():
            known = select(Household).where(col(Household.household_code).in_(codes))
            registered = {h.household_code: h for h in (await session.exec(known)).all()}
            done = select(Assessment.household_id).where(
                Assessment.round_id == review_round.id,
                col(Assessment.household_id).in_([h.id for h in registered.values()]),
            )
            already = set((await session.exec(done)).all())
            batch = []
            for item in chunk:
                household = registered.get(item.household.household_code)
                if household is None:
                    batch.append(surveys.Survey(item.assessment, registration=item.household))
                elif household.id in already:
                    continue
                elif household.commune_code != item.household.commune_code:
                    carried += 1
                else:
                    batch.append(surveys.Survey(item.assessment, household=household))
            await _recorded(session, batch, review_round)
            surveyed += len(batch)
        if batch:
            log.info("demo.loading", round=review_round.year, households=surveyed)
    if carried:
        log.info("demo.carried_households_left_out", round=review_round.year, households=carried)


async def _set_targets(indicators: httpx.AsyncClient) -> None:
    """The province's targets not set yet, once the indicators service knows the province."""
    response = await indicators.get("/api/v1/targets", params={"unit_code": OLD_PROVINCE})
    response.raise_for_status()
    existing = {
        (t["measure"], t["kind"], t["value_percent"], t["baseline_year"], t["target_year"])
        for t in response.json()["items"]
    }
    for target in TARGETS:
        key = tuple(
            target[k] for k in ("measure", "kind", "value_percent", "baseline_year", "target_year")
        )
        if key in existing:
            continue
        await _once_the_unit_is_known(indicators, "/api/v1/targets", target)
        log.info("demo.target_set", unit=target["unit_code"], target_year=target["target_year"])


async def _import_context_series(indicators: httpx.AsyncClient) -> None:
    """The context values of `CONTEXT_SERIES_FILE` not recorded yet, as one batch."""
    rows = _context_rows()
    recorded: set[tuple[str, int, str]] = set()
    for unit_code in sorted({row["unit_code"] for row in rows}):
        response = await indicators.get(f"/api/v1/context-series/{unit_code}")
        if response.status_code == httpx.codes.NOT_FOUND:
            continue  # neither values nor figures yet
        response.raise_for_status()
        recorded |= {
            (unit_code, item["year"], value["series"])
            for item in response.json()["items"]
            for value in item["series"]
        }
    missing = [r for r in rows if (r["unit_code"], r["year"], r["series"]) not in recorded]
    if missing:
        await _once_the_unit_is_known(indicators, "/api/v1/context-series/import", missing)
        log.info("demo.context_series_imported", values=len(missing))


def _context_rows() -> list[dict[str, Any]]:
    """The file's rows as `POST /api/v1/context-series/import` takes them in JSON."""
    text = resources.files("synthetic").joinpath(CONTEXT_SERIES_FILE).read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = []
    for line in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {k: v for k, v in line.items() if v != ""}
        row["year"], row["value"] = int(row["year"]), float(row["value"])
        rows.append(row)
    return rows


async def _once_the_unit_is_known(indicators: httpx.AsyncClient, url: str, body: object) -> None:
    """POST `body`, asked again while the indicators service answers that it does not know a
    unit yet (it learns units from the rounds' events, which may still be on their way)."""
    for _ in range(FIGURES_WAIT_TRIES):
        response = await indicators.post(url, json=body)
        errors = response.json().get("errors") if response.is_error else None
        if response.status_code != httpx.codes.UNPROCESSABLE_ENTITY or not errors:
            break
        if not all(error["loc"][-1] == "unit_code" for error in errors):
            break
        log.info("demo.waiting_for_figures", url=url)
        await asyncio.sleep(FIGURES_WAIT_SECONDS)
    if response.is_error:
        raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text}")
