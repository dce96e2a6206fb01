from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures import service as figures_service
from indicators.figures.cell_key import record_keys
from indicators.figures.models import RoundRef
from indicators.figures.router import DISCLOSURE, UnitCode
from indicators.left_behind import outcomes as outcomes_service
from indicators.left_behind import service as left_behind_service
from indicators.left_behind import workbook
from indicators.left_behind.models import LeftBehindHousehold
from indicators.left_behind.schemas import (
    LeftBehindHouseholdRead,
    LeftBehindList,
    ListOrder,
    OutcomeRow,
    SupportOutcomes,
    UnitOutcomes,
)
from indicators.left_behind.service import Rule
from indicators.reports.router import FILE_RESPONSES, AcceptLanguageHeader, LangQuery, language_of
from indicators.reports.service import XLSX
from indicators.reports.tables import Lang
from indicators.standard.service import get_standard
from indicators.transitions import service as transitions_service
from indicators.transitions.router import FromRoundId, ToRoundId
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES, FieldError, InvalidInput, NotFound
from kit.fields import Offset

router = APIRouter(prefix="/api/v1", tags=["left-behind"], responses=PROBLEM_RESPONSES)

# Household-level lists: roles that see households (not the aggregate-only ones).
HouseholdsReader = Annotated[Caller, requires(Permission.CLASSIFICATIONS_READ)]
FiguresReader = Annotated[Caller, requires(Permission.FIGURES_READ)]
RoundId = Annotated[UUID, Path(description="The review round's id (`GET /api/v1/rounds`).")]
WithinDays = Annotated[
    int | None,
    Query(
        ge=1,
        le=3650,
        description="List, besides the households with no support since their survey, those "
        "whose last support is older than this many days. Without it, the service's setting "
        "(`LEFT_BEHIND_WITHIN_DAYS`; by default none: since the survey only).",
    ),
]
OrderQuery = Annotated[ListOrder, Query(description="How the list is sorted.")]
EXPORT_LIMIT = 100_000  # households in one workbook: a province's list, at most


@router.get("/left-behind/{round_id}/{unit_code}", response_model=LeftBehindList)
async def list_left_behind(
    caller: HouseholdsReader,
    round_id: RoundId,
    unit_code: UnitCode,
    request: Request,
    session: SessionDep,
    within_days: WithinDays = None,
    order: OrderQuery = ListOrder.longest_waiting,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="The page's size at most.")] = 50,
) -> LeftBehindList:
    """The households of a commune, district or province left behind in the round: deprived in
    an information-dimension indicator of the round's standard (telecom use and information
    devices under VN-2022-2025) with no support recorded since their survey (or, with
    `within_days`, none within that many days), longest waiting first. For roles that see
    households; no personal data (docs/digital-inclusion.md)."""
    known, rule = await _list_of(session, caller, request, round_id, unit_code, within_days)
    rows, total = await left_behind_service.listed(
        session,
        caller,
        round_id=round_id,
        unit_code=unit_code,
        rule=rule,
        longest_first=order is ListOrder.longest_waiting,
        offset=offset,
        limit=limit,
    )
    return LeftBehindList(
        round_id=round_id,
        unit_code=unit_code,
        standard_id=known.standard_id,
        information_indicators=left_behind_service.information_indicators(
            get_standard(known.standard_id)
        ),
        within_days=rule.within_days,
        as_of=rule.today,
        items=await _read(session, rows, rule),
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/left-behind/{round_id}/{unit_code}/workbook",
    response_class=Response,
    responses=FILE_RESPONSES,
)
async def export_left_behind(
    caller: HouseholdsReader,
    round_id: RoundId,
    unit_code: UnitCode,
    request: Request,
    session: SessionDep,
    within_days: WithinDays = None,
    lang: LangQuery = None,
    accept_language: AcceptLanguageHeader = None,
) -> Response:
    """The whole left-behind list of the unit as an XLSX workbook for the team's visits
    (household code, village, commune, class, information deprivations, survey date, last
    support, days waiting, and empty columns for the visit), longest waiting first."""
    language = language_of(lang, accept_language)
    known, rule = await _list_of(session, caller, request, round_id, unit_code, within_days)
    rows, total = await left_behind_service.listed(
        session, caller, round_id=round_id, unit_code=unit_code, rule=rule, limit=EXPORT_LIMIT
    )
    if total > EXPORT_LIMIT:
        raise InvalidInput.field(
            ["path", "unit_code"],
            f"{total} households are on the list, more than one workbook holds "
            f"({EXPORT_LIMIT}): export its districts or communes.",
        )
    standard = get_standard(known.standard_id)
    english = language is Lang.en
    names = {i.key: i.name.en if english else i.name.vi for i in standard.indicators}
    contents = workbook.Contents(
        title=_title(unit_code, known.year, english),
        heading=_heading(known, rule, total, english),
        households=await _read(session, rows, rule),
        indicator_names=names,
        lang=language,
    )
    filename = f"left-behind-{unit_code}-{known.year}-{rule.today.isoformat()}.xlsx"
    return Response(
        workbook.to_xlsx(contents),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/support-outcomes/{from_round_id}/{to_round_id}/{unit_code}",
    response_model=SupportOutcomes,
)
async def get_support_outcomes(
    caller: FiguresReader,
    from_round_id: FromRoundId,
    to_round_id: ToRoundId,
    unit_code: Annotated[
        str,
        Path(
            pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$",
            description="A unit of the start round's map: province, district or commune code.",
        ),
    ],
    request: Request,
    session: SessionDep,
) -> SupportOutcomes:
    """Did the help work: the unit's households deprived in the information dimension in the
    start round, supported by a team before the end round or not, and of each how many left
    the information deprivation, how many left poverty and how many were not surveyed again
    (docs/digital-inclusion.md). For roles that see aggregates only, every commune's cells are
    perturbed (`disclosure`)."""
    start = await figures_service.get_round(session, from_round_id)
    end = await figures_service.get_round(session, to_round_id)
    missing = NotFound(f"No support outcomes for unit {unit_code} between these rounds yet.")
    if start is None or end is None:
        raise missing
    problem = transitions_service.check_order(start, end)
    if problem is not None:
        raise InvalidInput(
            problem,
            errors=[
                FieldError(loc=["path", "from_round_id"], msg=problem),
                FieldError(loc=["path", "to_round_id"], msg=problem),
            ],
        )
    found_path = await figures_service.unit_path(session, from_round_id, unit_code)
    if found_path is None or not caller.may_see(found_path[1]):
        raise missing
    path = found_path[1]
    found = await outcomes_service.outcomes(
        session, start, end, unit_code, len(path), record_keys(request.state.settings)
    )
    exact = caller.can(Permission.SMALL_CELLS_READ)

    def unit(code: str) -> UnitOutcomes:
        cells = outcomes_service.summed(found.leaf_rows(code), perturbed=not exact)
        rows = outcomes_service.rows_of(cells)
        return UnitOutcomes(
            unit_code=code,
            supported=OutcomeRow(**rows["supported"]),
            not_supported=OutcomeRow(**rows["not_supported"]),
            total=OutcomeRow(**rows["total"]),
        )

    return SupportOutcomes(
        from_round_id=from_round_id,
        to_round_id=to_round_id,
        unit=unit(unit_code),
        children=[unit(child) for child in found.children()],
        disclosure=None if exact else DISCLOSURE,
    )


async def _list_of(
    session: AsyncSession,
    caller: Caller,
    request: Request,
    round_id: UUID,
    unit_code: str,
    within_days: int | None,
) -> tuple[RoundRef, Rule]:
    """The round and the rule of a list; 404 for a round or unit the caller may not see."""
    known = await figures_service.get_round(session, round_id)
    found = await figures_service.unit_path(session, round_id, unit_code)
    if known is None or found is None or not caller.may_see(found[1]):
        raise NotFound(f"No left-behind list for unit {unit_code} in this round.")
    if within_days is None:
        within_days = request.state.settings.LEFT_BEHIND_WITHIN_DAYS
    return known, Rule(within_days=within_days, today=left_behind_service.today())


async def _read(
    session: AsyncSession, rows: Sequence[LeftBehindHousehold], rule: Rule
) -> list[LeftBehindHouseholdRead]:
    villages = await left_behind_service.villages(session, (row.household_id for row in rows))
    items = []
    for row in rows:
        since = left_behind_service.waiting_since(row.survey_date, row.last_support_on)
        items.append(
            LeftBehindHouseholdRead(
                household_id=row.household_id,
                household_code=row.household_code,
                commune_code=row.commune_code,
                commune_name=row.commune_name,
                village=villages.get(row.household_id),
                unit_path=list(row.unit_path),
                household_class=row.household_class,
                deprived_indicators=list(row.deprived_indicators),
                survey_date=row.survey_date,
                last_support_on=row.last_support_on,
                waiting_since=since,
                waiting_days=max(0, (rule.today - since).days),
                reason=rule.reason(row.last_support_on),
            )
        )
    return items


def _title(unit_code: str, year: int | None, english: bool) -> str:
    if english:
        return f"Households left behind in the information dimension: unit {unit_code}, {year}"
    return f"Danh sách hộ còn thiếu hụt về thông tin chưa được hỗ trợ: đơn vị {unit_code}, {year}"


def _heading(known: RoundRef, rule: Rule, total: int, english: bool) -> list[str]:
    if english:
        rule_text = (
            "no support since the survey"
            if rule.within_days is None
            else f"no support since the survey, or none within {rule.within_days} days"
        )
        return [
            f"Round: {known.year} · Standard: {known.standard_id} · Rule: {rule_text}",
            f"As of {rule.today:%Y-%m-%d} · {total} households, longest waiting first",
            "Personal data (names, addresses) are not printed: look the household up by its code.",
        ]
    rule_text = (
        "chưa được hỗ trợ từ khi rà soát"
        if rule.within_days is None
        else f"chưa được hỗ trợ từ khi rà soát, hoặc không được hỗ trợ trong "
        f"{rule.within_days} ngày"
    )
    return [
        f"Kỳ rà soát: {known.year} · Chuẩn nghèo: {known.standard_id} · Tiêu chí: {rule_text}",
        f"Tính đến ngày {rule.today:%d/%m/%Y} · {total} hộ, chờ lâu nhất trước",
        "Không in thông tin cá nhân (họ tên, địa chỉ): tra cứu hộ theo mã hộ.",
    ]
