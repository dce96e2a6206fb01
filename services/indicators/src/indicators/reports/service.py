"""Builds report files from the figures the caller would get from the figures API, directly for
a district or commune, as a job for a province (docs/reports.md).

Figures come from the figures endpoints' own functions (`figures/router.py`), and the
transitions of reports 2 and 3 from the transitions endpoint's (`transitions/router.py`),
called with the caller, so perturbation, scope and restatement are theirs; nothing is counted
here.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators import jobs
from indicators.figures import router as figures_api
from indicators.figures.models import RoundRef
from indicators.figures.schemas import UnitFigures
from indicators.information import service as information_service
from indicators.information.schemas import InformationFigures
from indicators.reports import charts
from indicators.reports.models import ReportJob, ReportJobStatus
from indicators.reports.tables import (
    REPORT_KEYS,
    TRANSITION_REPORTS,
    Lang,
    Report,
    Row,
    reports,
)
from indicators.reports.workbook import (
    Chart,
    Contents,
    Heading,
    heading_lines,
    to_csv,
    to_xlsx,
)
from indicators.standard.service import get_standard
from indicators.transitions import router as transitions_api
from indicators.transitions import service as transitions_service
from indicators.transitions.schemas import TransitionsAnswer
from kit.auth import Caller, Role
from kit.db import unavailable, utc_now
from kit.errors import FieldError, InvalidInput, NotFound

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # matplotlib loads on the first chart (charts.py)

log = structlog.get_logger()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    round_id: UUID
    unit_code: str
    map_day: date | None
    lang: Lang
    format: str  # "xlsx" or "csv"
    report: str | None  # one report's key; None: all of them (XLSX only)
    # Reports 2 and 3: the round the transitions start from; None: the previous round of the
    # same kind (`transitions_service.previous_round`).
    from_round_id: UUID | None = None

    def check(self, where: str = "query") -> None:
        """The rules the schema cannot say; `where` the request's part naming `report` (a job
        names it in its body)."""
        if self.format == "csv" and self.report is None:
            raise InvalidInput.field(
                [where, "report"],
                f"A CSV file holds one report: name it ({', '.join(REPORT_KEYS)}).",
            )
        if self.map_day is not None and self.report in TRANSITION_REPORTS:
            raise InvalidInput.field(
                [where, "map"],
                "Reports 2 and 3 (transitions) are on the end round's own map: leave out `map`.",
            )

    def filename(self, year: int | None) -> str:
        which = f"bieu-{self.report}" if self.report else "bao-cao"
        on_map = f"-map-{self.map_day}" if self.map_day else ""
        return f"{which}-{year}-{self.unit_code}{on_map}.{self.format}"


@dataclass
class Gathered:
    round: RoundRef
    unit: UnitFigures
    children: list[UnitFigures]
    information: dict[str, InformationFigures]
    transitions: TransitionsAnswer | None = None


async def figures_of(
    session: AsyncSession,
    caller: Caller,
    round_id: UUID,
    unit_code: str,
    map_day: date | None,
    *,
    children: bool = False,
) -> list[UnitFigures]:
    """A unit's figures (or its children's) exactly as the figures API answers this caller: 404
    outside its scope, perturbed for aggregate roles, restated onto `map_day`'s map. Names in
    English: the reports set their own headings in the language asked for."""
    if children:
        found = await figures_api.list_child_figures(
            caller, round_id, unit_code, session, language="en", map_day=map_day, as_of_day=None
        )
        return found.items
    unit = await figures_api.get_unit_figures(
        caller, round_id, unit_code, session, language="en", map_day=map_day, as_of_day=None
    )
    return [unit]


def check_rounds(start: RoundRef, end: RoundRef, where: str = "query") -> None:
    """Refuse rounds the transitions cannot compare, naming both of the report's fields (`where`:
    the query and path of a direct answer, or a job's body)."""
    problem = transitions_service.check_order(start, end)
    if problem is not None:
        raise InvalidInput(
            problem,
            errors=[
                FieldError(loc=[where, "from_round_id"], msg=problem),
                FieldError(loc=["path" if where == "query" else where, "round_id"], msg=problem),
            ],
        )


async def transitions_of(
    session: AsyncSession, caller: Caller, start: RoundRef, end: RoundRef, unit_code: str
) -> TransitionsAnswer:
    """A unit's transitions (and its children's) exactly as the transitions API answers this
    caller, with the templates' default precedence: 404 outside its scope, perturbed for
    aggregate roles."""
    check_rounds(start, end)
    return await transitions_api.get_transitions(
        caller, start.round_id, end.round_id, unit_code, session
    )


async def start_round(
    session: AsyncSession, request: Request, end: RoundRef, where: str = "query"
) -> RoundRef | None:
    """Where the transitions of reports 2 and 3 start: the round named, else the previous one of
    the end round's kind; None when the reports asked for need none or there is none (the
    whole workbook then leaves them out; one of them asked alone is refused)."""
    wanted = request.report in TRANSITION_REPORTS or (
        request.report is None and request.map_day is None
    )
    if not wanted:
        return None
    if request.from_round_id is not None:
        start = await session.get(RoundRef, request.from_round_id)
        if start is None:
            raise NotFound(f"No figures for round {request.from_round_id} yet.")
        check_rounds(start, end, where)
        return start
    start = await transitions_service.previous_round(session, end)
    if start is None and request.report in TRANSITION_REPORTS:
        raise InvalidInput.field(
            [where, "from_round_id"],
            f"No round of this kind before round {end.round_id}: reports 2 and 3 compare two.",
        )
    return start


async def gather(
    session: AsyncSession,
    caller: Caller,
    request: Request,
    *,
    information: bool,
    start: RoundRef | None = None,
    progress: Progress | None = None,
) -> Gathered:
    """The unit's and its children's figures exactly as the figures API answers this caller
    (404 outside its scope, as there), and their transitions from `start` as the transitions
    API answers."""
    [unit] = await figures_of(session, caller, request.round_id, request.unit_code, request.map_day)
    children = await figures_of(
        session, caller, request.round_id, request.unit_code, request.map_day, children=True
    )
    if progress:
        await progress(1, 3)
    found: dict[str, InformationFigures] = {}
    if information:
        for item in await information_service.for_unit(
            session, caller, request.round_id, request.unit_code, request.map_day, children=True
        ) + await information_service.for_unit(
            session, caller, request.round_id, request.unit_code, request.map_day
        ):
            found[item.unit_code] = item
    known = await session.get(RoundRef, request.round_id)
    assert known is not None  # the figures answered
    transitions = None
    if start is not None:
        transitions = await transitions_of(session, caller, start, known, request.unit_code)
    if progress:
        await progress(2, 3)
    return Gathered(known, unit, children, found, transitions)


def unit_label(code: str, names: Mapping[str, str]) -> str:
    return f"{code} {names[code]}" if names.get(code) else code


def chart_pictures(gathered: Gathered, names: Mapping[str, str], lang: Lang) -> list[Chart]:
    """The charts a workbook carries: rates by child unit and the deprivation profile."""
    vi = lang is Lang.vi
    pictures = []
    rows = gathered.children or [gathered.unit]
    year = gathered.round.year
    title = (
        f"Tỷ lệ hộ nghèo, hộ cận nghèo theo đơn vị, {year}"
        if vi
        else f"Poverty and near-poverty rates by unit, {year}"
    )
    figure = rates_figure(rows, names, lang, title)
    pictures.append(Chart(title, charts.render(figure, charts.ChartFormat.png)))
    title = (
        f"Tỷ lệ hộ thiếu hụt theo chỉ số, {unit_label(gathered.unit.unit_code, names)}, {year}"
        if vi
        else f"Share deprived by indicator, {unit_label(gathered.unit.unit_code, names)}, {year}"
    )
    figure = profile_figure(gathered.unit, lang, title)
    pictures.append(Chart(title, charts.render(figure, charts.ChartFormat.png)))
    return pictures


def rates_figure(
    rows: list[UnitFigures], names: Mapping[str, str], lang: Lang, title: str
) -> "Figure":
    vi = lang is Lang.vi
    return charts.rates_by_unit(
        [unit_label(row.unit_code, names) for row in rows],
        [row.total.household_rates.poverty_rate_percent for row in rows],
        [row.total.household_rates.near_poverty_rate_percent for row in rows],
        title=title,
        legend=("Hộ nghèo", "Hộ cận nghèo") if vi else ("Poor", "Near-poor"),
    )


def profile_figure(figures: UnitFigures, lang: Lang, title: str) -> "Figure":
    vi = lang is Lang.vi
    standard = get_standard(figures.standard_id)
    names = [f"{i.number}. {i.name.vi if vi else i.name.en}" for i in standard.indicators]
    return charts.deprivation_profile(
        names,
        [
            (
                ("Hộ nghèo", "Hộ cận nghèo")[index] if vi else ("Poor", "Near-poor")[index],
                [item.share_percent for item in figures.deprivation[group].indicators],
            )
            for index, group in enumerate(("poor", "near_poor"))
        ],
        title=title,
    )


async def build(
    session: AsyncSession,
    caller: Caller,
    request: Request,
    names: Mapping[str, str],
    *,
    progress: Progress | None = None,
) -> tuple[str, bytes]:
    """The report file (its name and bytes) for this caller."""
    request.check()
    known = await session.get(RoundRef, request.round_id)
    if known is None:
        raise NotFound(f"No figures for unit {request.unit_code} in round {request.round_id} yet.")
    start = await start_round(session, request, known)
    every = reports(get_standard(known.standard_id))
    chosen: list[Report] = [every[request.report]] if request.report else list(every.values())
    if start is None:
        chosen = [report for report in chosen if not report.needs_transitions]
    gathered = await gather(
        session,
        caller,
        request,
        information=any(report.needs_information for report in chosen),
        start=start,
        progress=progress,
    )
    if start is not None and gathered.transitions is not None:
        chosen = [
            _with_period(report, start, known, gathered.transitions, request.lang)
            if report.needs_transitions
            else report
            for report in chosen
        ]
    unit = gathered.unit
    heading = Heading(
        heading_lines(
            lang=request.lang,
            year=known.year,
            standard_id=known.standard_id,
            unit=unit_label(request.unit_code, names),
            figures=unit,
            extracted_at=utc_now(),
        )
    )

    contents = Contents(
        heading=heading,
        rows=_child_rows(gathered, names),
        subtotal=Row(
            unit.unit_code,
            names.get(unit.unit_code, ""),
            unit,
            gathered.information.get(unit.unit_code),
            gathered.transitions.unit if gathered.transitions else None,
        ),
        reports=chosen,
        lang=request.lang,
    )
    filename = request.filename(known.year)
    if request.format == "csv":
        return filename, to_csv(contents, chosen[0])
    if request.report is None:
        contents.charts = chart_pictures(gathered, names, request.lang)
    return filename, to_xlsx(contents)


def _child_rows(gathered: Gathered, names: Mapping[str, str]) -> list[Row]:
    """One row per child unit in either answer, in code order: a report shows those its own
    answer has (the figures' children, or the transitions' ones)."""
    rows: dict[str, Row] = {}
    for figures in gathered.children:
        rows[figures.unit_code] = Row(
            figures.unit_code,
            names.get(figures.unit_code, ""),
            figures,
            gathered.information.get(figures.unit_code),
        )
    for child in gathered.transitions.children if gathered.transitions else []:
        row = rows.setdefault(child.unit_code, Row(child.unit_code, names.get(child.unit_code, "")))
        row.transitions = child
    return [rows[code] for code in sorted(rows)]


def _with_period(
    report: Report, start: RoundRef, end: RoundRef, found: TransitionsAnswer, lang: Lang
) -> Report:
    """A transitions report titled with its two rounds, its notes saying how the histories the
    templates leave open were counted and what the crosswalk could not place."""
    vi = lang is Lang.vi
    precedence = ", ".join(f"{name}={value.value}" for name, value in found.precedence)
    notes = [
        f"Từ kỳ rà soát {start.year} (ngày {_day(start)}) đến kỳ {end.year} (ngày {_day(end)}), "
        f"trên bản đồ hành chính ngày {found.map_date}. Cuối kỳ = đầu kỳ − giảm + tăng."
        if vi
        else f"From the {start.year} round ({_day(start)}) to the {end.year} round "
        f"({_day(end)}), on the map of {found.map_date}. End = start − decreases + increases.",
        f"Cách tính các trường hợp mẫu biểu để ngỏ (docs/transitions.md): {precedence}."
        if vi
        else f"Histories the templates leave open counted as (docs/transitions.md): {precedence}.",
    ]
    if found.unassigned_households:
        notes.append(
            f"{found.unassigned_households} hộ của xã bị chia tách không xác định được xã mới: "
            "không tính vào đơn vị nào."
            if vi
            else f"{found.unassigned_households} households of split communes could not be "
            "placed in a successor: counted nowhere."
        )
    if found.disclosure is not None:
        notes.append(
            "Số liệu đã được làm nhiễu để bảo vệ ô nhỏ; các dòng vẫn cộng đúng."
            if vi
            else "Counts perturbed to protect small cells; rows still add up."
        )
    period = f"{start.year} – {end.year}"
    return replace(
        report,
        vi=f"{report.vi}, kỳ {period}",
        en=f"{report.en}, {period}",
        notes=notes,
    )


def _day(round_: RoundRef) -> str:
    return f"{round_.reference_date:%d/%m/%Y}" if round_.reference_date else str(round_.year)


# Jobs: the shape of the recalculation jobs (claimed with a lease, restarted if a worker dies).


async def create(
    session: AsyncSession, caller: Caller, request: Request, names: Mapping[str, str]
) -> ReportJob:
    """Queue a report for the caller, after checking what a direct answer would check first
    (the request, and that the unit is in its scope: 404 now rather than a failed job)."""
    request.check("body")
    await figures_of(session, caller, request.round_id, request.unit_code, request.map_day)
    end = await session.get(RoundRef, request.round_id)
    assert end is not None  # the figures answered
    # The start round is fixed now (when there is one): the file compares what was asked.
    start = await start_round(session, request, end, "body")
    job = ReportJob(
        round_id=request.round_id,
        unit_code=request.unit_code,
        map_day=request.map_day,
        lang=request.lang.value,
        format=request.format,
        report=request.report,
        from_round_id=start.round_id if start is not None else None,
        names=dict(names),
        created_by=caller.subject,
        created_by_role=caller.role.value,
        unit_scope=list(caller.unit_scope) if caller.unit_scope is not None else None,
        total=3,
    )
    session.add(job)
    await session.flush()
    return job


async def get(session: AsyncSession, caller: Caller, job_id: UUID) -> ReportJob:
    """The caller's own job: another caller's is 404, as its file holds what that one may see."""
    job = await session.get(ReportJob, job_id)
    if job is None or job.created_by != caller.subject:
        raise NotFound(f"Report job {job_id} does not exist.")
    return job


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], *, lease_seconds: float
) -> UUID | None:
    """The next report job to run (`indicators.jobs`); a job taken over starts its file anew."""
    job = await jobs.claim_next(sessionmaker, ReportJob, lease_seconds=lease_seconds)
    if job is None:
        return None
    async with sessionmaker() as session, session.begin():
        await session.exec(update(ReportJob).where(col(ReportJob.id) == job.id).values(done=0))
    return job.id


async def run(sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID) -> None:
    """Build a claimed job's file as its requester, recording progress, the file or the error."""
    async with sessionmaker() as session:
        job = await session.get(ReportJob, job_id)
        assert job is not None
        caller = Caller(
            job.created_by,
            Role(job.created_by_role),
            tuple(job.unit_scope) if job.unit_scope is not None else None,
        )
        request = Request(
            job.round_id,
            job.unit_code,
            job.map_day,
            Lang(job.lang),
            job.format,
            job.report,
            job.from_round_id,
        )
        names = dict(job.names)

    try:
        async with sessionmaker() as session:

            async def progress(done: int, total: int) -> None:
                # On the reading session (one connection is all SQLite gives): it reads only.
                running = await session.get(ReportJob, job_id)
                assert running is not None
                running.done, running.total, running.heartbeat_at = done, total, utc_now()
                await session.commit()

            filename, content = await build(session, caller, request, names, progress=progress)
    except Exception as error:
        if unavailable(error):
            raise  # not the job's fault: its lease runs out and it is taken again
        log.exception("report.failed", job_id=str(job_id))
        async with sessionmaker() as session, session.begin():
            failed = await session.get(ReportJob, job_id)
            assert failed is not None
            failed.status, failed.finished_at = ReportJobStatus.failed, utc_now()
            failed.error = getattr(error, "detail", None) or repr(error)
        return
    async with sessionmaker() as session, session.begin():
        done = await session.get(ReportJob, job_id)
        assert done is not None
        done.status, done.finished_at = ReportJobStatus.succeeded, utc_now()
        done.filename, done.content, done.done = filename, content, done.total
    log.info("report.generated", job_id=str(job_id), bytes=len(content))


async def run_next(sessionmaker: async_sessionmaker[AsyncSession], *, lease_seconds: float) -> bool:
    """Take one queued report job and run it; False when there was none."""
    job_id = await claim_next(sessionmaker, lease_seconds=lease_seconds)
    if job_id is None:
        return False
    await run(sessionmaker, job_id)
    return True
