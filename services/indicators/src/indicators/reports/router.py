from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

import httpx
import structlog
from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from indicators.figures.models import RoundRef
from indicators.figures.router import FiguresReader, MapDay, UnitCode
from indicators.information import service as information_service
from indicators.reports import charts
from indicators.reports import service as report_service
from indicators.reports.models import ReportJob, ReportJobStatus
from indicators.reports.service import CSV, XLSX
from indicators.reports.tables import Lang, ReportName
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, Conflict, InvalidInput, NotFound
from kit.fields import RequestBody

log = structlog.get_logger()
router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=PROBLEM_RESPONSES)

LangQuery = Annotated[
    Lang | None,
    Query(
        description="Headers and headings in Vietnamese (the provincial layout) or English; "
        "without it, from Accept-Language (`en…` gives English), else Vietnamese."
    ),
]
FileFormat = Literal["xlsx", "csv"]
FORMAT_DESCRIPTION = (
    "`xlsx`: a workbook, every report (a sheet each) or the one asked; `csv`: one report "
    "(`report` required), UTF-8."
)
FileFormatQuery = Annotated[FileFormat, Query(description=FORMAT_DESCRIPTION)]
ChartFormatQuery = Annotated[
    charts.ChartFormat | None,
    Query(description="SVG or PNG; without it, PNG when `Accept` names image/png, else SVG."),
]
AcceptHeader = Annotated[
    str | None,
    Header(description="`image/png` for PNG when `format` is not given; anything else: SVG."),
]
AcceptLanguageHeader = Annotated[
    str | None,
    Header(description="The language when `lang` is not given: `en…` English, else Vietnamese."),
]
JobId = Annotated[UUID, Path(description="The report job's id, from `POST /api/v1/reports/jobs`.")]
ReportKey = Annotated[
    ReportName | None,
    Query(
        description="One report: 1 (results), 2/3 (transitions of poor/near-poor households "
        "since `from_round_id`), 4/5 (poor households deprived: count/share), 6/7 (near-poor: "
        "count/share), information. Without it, every report (XLSX only).",
    ),
]
FROM_ROUND_DESCRIPTION = (
    "Reports 2 and 3: the round the transitions start from (earlier, of the same kind). "
    "Default: the previous round of the same kind; without one, the whole workbook leaves "
    "reports 2 and 3 out."
)
FromRoundQuery = Annotated[UUID | None, Query(description=FROM_ROUND_DESCRIPTION)]
ChartName = Literal["rates", "deprivation"]


def language_of(asked: Lang | None, accept_language: str | None) -> Lang:
    """The language asked for by `lang`, else by Accept-Language (`en…`), else Vietnamese."""
    if asked is not None:
        return asked
    first = (accept_language or "").split(",")[0].strip().lower()
    return Lang.en if first.startswith("en") else Lang.vi


def chart_format_of(asked: charts.ChartFormat | None, accept: str | None) -> charts.ChartFormat:
    """The format asked for by `format`, else PNG when Accept names image/png, else SVG."""
    if asked is not None:
        return asked
    return charts.ChartFormat.png if "image/png" in (accept or "") else charts.ChartFormat.svg


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def _names(
    request: Request, session: SessionDep, round_id: UUID, unit_code: str, map_day: date | None
) -> dict[str, str]:
    """The names of the unit and its children on the report's map, from the households service
    (the unit tree is its reference data), with the caller's own token. Without them (the
    households service unreachable) the rows carry codes only."""
    known = await session.get(RoundRef, round_id)
    day = map_day or (known.reference_date if known else None)
    authorization = request.headers.get("Authorization")
    if authorization is None:
        return {}
    params = {"on": day.isoformat()} if day else {}
    settings = request.state.settings
    try:
        async with httpx.AsyncClient(
            base_url=settings.HOUSEHOLDS_URL,
            transport=request.app.state.households_transport,
            timeout=10.0,
            headers={"Authorization": authorization},
            trust_env=False,
        ) as client:
            unit = await client.get(f"/api/v1/units/{unit_code}", params=params)
            children = await client.get(f"/api/v1/units/{unit_code}/children", params=params)
        names = {}
        if unit.status_code == 200:
            names[unit_code] = unit.json()["name"]
        if children.status_code == 200:
            names.update({child["code"]: child["name"] for child in children.json()})
        return names
    except (httpx.HTTPError, ValueError, KeyError):
        log.warning("reports.unit_names_unavailable", unit_code=unit_code)
        return {}


class ReportJobRequest(RequestBody):
    round_id: UUID = Field(description="The review round's id (`GET /api/v1/rounds`).")
    unit_code: str = Field(
        pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
        description="A province, district or commune of the caller's scope, on the round's map "
        "(or on `map`'s).",
    )
    map: date | None = Field(default=None, description="Restated onto the map of this day.")
    lang: Lang = Field(default=Lang.vi, description="The language of headers and headings.")
    format: FileFormat = Field(default="xlsx", description=FORMAT_DESCRIPTION)
    report: ReportName | None = Field(default=None, description="One report (else all).")
    from_round_id: UUID | None = Field(default=None, description=FROM_ROUND_DESCRIPTION)


class ReportJobRead(BaseModel):
    id: UUID = Field(description="The report job's id.")
    round_id: UUID = Field(description="The review round's id.")
    unit_code: str = Field(description="The unit the reports are of.")
    map: date | None = Field(description="The day of the map restated onto; None: as reported.")
    lang: Lang = Field(description="The language of headers and headings.")
    format: FileFormat = Field(description="The file's format.")
    report: str | None = Field(description="The one report asked for; None: every report.")
    from_round_id: UUID | None = Field(
        default=None,
        description="Where the transitions of reports 2 and 3 start (fixed when the job was "
        "requested); None: the file has no transitions.",
    )
    status: ReportJobStatus = Field(description="Where the job stands.")
    progress_percent: float = Field(description="How far it has gone (0–100 %).")
    error: str | None = Field(description="Why it failed; None unless `failed`.")
    requested_at: datetime = Field(description="When it was requested.")
    finished_at: datetime | None = Field(description="When it succeeded or failed.")
    download: str | None = Field(description="Where the file is, once the job has succeeded.")

    @classmethod
    def of(cls, job: ReportJob) -> "ReportJobRead":
        done = job.status == ReportJobStatus.succeeded
        progress = 100.0 if done else (round(100 * job.done / job.total, 1) if job.total else 0.0)
        return cls(
            id=job.id,
            round_id=job.round_id,
            unit_code=job.unit_code,
            map=job.map_day,
            lang=Lang(job.lang),
            format="csv" if job.format == "csv" else "xlsx",
            report=job.report,
            from_round_id=job.from_round_id,
            status=job.status,
            progress_percent=progress,
            error=job.error,
            requested_at=job.requested_at,
            finished_at=job.finished_at,
            download=f"/api/v1/reports/jobs/{job.id}/file" if done else None,
        )


# Files, not JSON: their schema says so, so that generated clients hand back bytes or text.
BINARY = {"schema": {"type": "string", "format": "binary"}}
TEXT = {"schema": {"type": "string"}}
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {XLSX: BINARY, CSV: TEXT},
        "description": "The report file (`Content-Disposition: attachment` names it).",
    }
}
CHART_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/svg+xml": TEXT, "image/png": BINARY}, "description": "The chart."}
}

# Fixed paths come before `/{round_id}/{unit_code}`, which would otherwise take them.


@router.post("/jobs", status_code=status.HTTP_202_ACCEPTED, response_model=ReportJobRead)
async def request_report(
    caller: FiguresReader,
    body: ReportJobRequest,
    request: Request,
    session: SessionDep,
    response: Response,
) -> ReportJobRead:
    """Generate a report file as a job (any unit; a province's reports are always made so):
    poll it, then download the file. It holds what the caller may see, for the caller alone.

    Records a queued job (`Location` names it; poll `GET /api/v1/reports/jobs/{job_id}`); the
    figures are not changed. The unit's names are read from the households service when the
    job is requested."""
    wanted = report_service.Request(
        body.round_id,
        body.unit_code,
        body.map,
        body.lang,
        body.format,
        body.report,
        body.from_round_id,
    )
    names = await _names(request, session, body.round_id, body.unit_code, body.map)
    job = await report_service.create(session, caller, wanted, names)
    response.headers["Location"] = f"/api/v1/reports/jobs/{job.id}"
    return ReportJobRead.of(job)


@router.get("/jobs/{job_id}", response_model=ReportJobRead)
async def get_report_job(
    caller: FiguresReader, job_id: JobId, session: SessionDep
) -> ReportJobRead:
    """A report job's status and progress; `download` once it is done (the requester's only)."""
    return ReportJobRead.of(await report_service.get(session, caller, job_id))


@router.get("/jobs/{job_id}/file", response_class=Response, responses=FILE_RESPONSES)
async def download_report(caller: FiguresReader, job_id: JobId, session: SessionDep) -> Response:
    """The file of a report job that succeeded (409 while it is not ready, or if it failed)."""
    job = await report_service.get(session, caller, job_id)
    if job.status != ReportJobStatus.succeeded or job.content is None:
        raise Conflict(f"Report job {job_id} is {job.status.value}: no file yet.")
    media = CSV if job.format == "csv" else XLSX
    return Response(job.content, media_type=media, headers=_attachment(job.filename or "report"))


@router.get("/charts/trend/{unit_code}", response_class=Response, responses=CHART_RESPONSES)
async def trend_chart(
    caller: FiguresReader,
    unit_code: UnitCode,
    session: SessionDep,
    map_day: MapDay = None,
    lang: LangQuery = None,
    format: ChartFormatQuery = None,
    accept: AcceptHeader = None,
    accept_language: AcceptLanguageHeader = None,
) -> Response:
    """The unit's poverty and near-poverty rates across the periodic rounds, on one map (`map`,
    else the latest round's; earlier rounds restated onto it), as SVG or PNG."""
    language, chart_format = language_of(lang, accept_language), chart_format_of(format, accept)
    periods, poor, near = [], [], []
    rounds = await information_service.periodic_rounds(session)
    day = map_day or (rounds[-1].reference_date if rounds else None)
    for known in rounds:
        assert known.reference_date is not None
        assert day is not None
        if known.reference_date > day:
            continue
        restate = day if known.reference_date < day else None
        try:
            [figures] = await report_service.figures_of(
                session, caller, known.round_id, unit_code, restate
            )
        except NotFound:
            continue
        periods.append(str(known.year))
        poor.append(figures.total.household_rates.poverty_rate_percent)
        near.append(figures.total.household_rates.near_poverty_rate_percent)
    if not periods:
        raise NotFound(f"No figures for unit {unit_code} in any round.")
    vi = language is Lang.vi
    figure = charts.trend(
        periods,
        [
            ("Tỷ lệ hộ nghèo" if vi else "Poverty rate", poor),
            ("Tỷ lệ hộ cận nghèo" if vi else "Near-poverty rate", near),
        ],
        title=(
            f"Đơn vị {unit_code}: tỷ lệ hộ nghèo, cận nghèo qua các kỳ rà soát"
            if vi
            else f"Unit {unit_code}: poverty and near-poverty rates by round"
        ),
    )
    return Response(
        charts.render(figure, chart_format), media_type=charts.MEDIA_TYPES[chart_format]
    )


@router.get("/{round_id}/{unit_code}", response_class=Response, responses=FILE_RESPONSES)
async def get_report(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    request: Request,
    session: SessionDep,
    map_day: MapDay = None,
    lang: LangQuery = None,
    format: FileFormatQuery = "xlsx",
    report: ReportKey = None,
    from_round_id: FromRoundQuery = None,
    accept_language: AcceptLanguageHeader = None,
) -> Response:
    """The reports of a district or commune as a file, at once: XLSX (every report, or one)
    or CSV (one report). A province's reports are made by a job (`POST /api/v1/reports/jobs`).

    Reports 2 and 3 are the transitions API's tables (`GET /api/v1/transitions/...`) from
    `from_round_id` (default: the previous round of the kind) to this round, with its default
    precedence; rounds it cannot compare are 422 naming `from_round_id` and `round_id`."""
    wanted = report_service.Request(
        round_id,
        unit_code,
        map_day,
        language_of(lang, accept_language),
        format,
        report,
        from_round_id,
    )
    wanted.check()
    if len(unit_code) == 2:
        # In scope or not, as the figures would answer; then the job, for a province.
        await report_service.figures_of(session, caller, round_id, unit_code, map_day)
        raise InvalidInput.field(
            ["path", "unit_code"],
            f"A province's reports are generated as a job: POST /api/v1/reports/jobs with "
            f'{{"round_id": "{round_id}", "unit_code": "{unit_code}"}}, then download its file.',
        )
    names = await _names(request, session, round_id, unit_code, map_day)
    filename, content = await report_service.build(session, caller, wanted, names)
    media = CSV if format == "csv" else XLSX
    return Response(content, media_type=media, headers=_attachment(filename))


@router.get(
    "/{round_id}/{unit_code}/charts/{chart}", response_class=Response, responses=CHART_RESPONSES
)
async def get_chart(
    caller: FiguresReader,
    round_id: UUID,
    unit_code: UnitCode,
    chart: Annotated[ChartName, Path(description="rates: by child unit; deprivation: profile.")],
    request: Request,
    session: SessionDep,
    map_day: MapDay = None,
    lang: LangQuery = None,
    format: ChartFormatQuery = None,
    accept: AcceptHeader = None,
    accept_language: AcceptLanguageHeader = None,
) -> Response:
    """A chart of the unit's figures in the round (SVG or PNG, by `format` or Accept): the
    rates of its child units (`rates`), or its poor and near-poor households' deprivation
    profile (`deprivation`). Drawn from the figures the caller gets (perturbed for
    restricted roles)."""
    language, chart_format = language_of(lang, accept_language), chart_format_of(format, accept)
    vi = language is Lang.vi
    [unit] = await report_service.figures_of(session, caller, round_id, unit_code, map_day)
    names = await _names(request, session, round_id, unit_code, map_day)
    label = report_service.unit_label(unit_code, names)
    known = await session.get(RoundRef, round_id)
    year = known.year if known else ""
    if chart == "rates":
        children = await report_service.figures_of(
            session, caller, round_id, unit_code, map_day, children=True
        )
        title = (
            f"{label}: tỷ lệ hộ nghèo, cận nghèo theo đơn vị, {year}"
            if vi
            else f"{label}: poverty and near-poverty rates by unit, {year}"
        )
        figure = report_service.rates_figure(children or [unit], names, language, title)
    else:
        title = (
            f"{label}: tỷ lệ hộ thiếu hụt theo chỉ số, {year}"
            if vi
            else f"{label}: share deprived by indicator, {year}"
        )
        figure = report_service.profile_figure(unit, language, title)
    return Response(
        charts.render(figure, chart_format), media_type=charts.MEDIA_TYPES[chart_format]
    )
