"""The summary reports sent upward (DOMAIN §5), as tables: their columns in Vietnamese and
English and where each cell comes from in the JSON figures.

Every cell is read from the figures a caller gets from `GET /api/v1/figures/...` (or the
information figures): nothing is counted again here, so a report shows exactly what the API
shows the same caller, perturbed or exact. Reports 2 and 3 (transitions between rounds) read
the transitions API's answer (`GET /api/v1/transitions/...`) the same way, row by row.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from indicators.figures.schemas import AreaFigures, DenominatorStatus, UnitFigures
from indicators.information.schemas import InformationFigures
from indicators.standard.schemas import Standard
from indicators.transitions.movements import DECREASES, INCREASES, NEAR_POOR, PERSONS_ONLY, POOR
from indicators.transitions.schemas import TransitionTable, UnitTransitions

Cell = int | float | str | None


class Kind(StrEnum):
    number = "number"
    percent = "percent"  # stored as a fraction (0.0123) with a percentage format


class Lang(StrEnum):
    """The language of a report's headers and headings.

    - `vi`: Vietnamese, the provincial layout
    - `en`: English
    """

    vi = "vi"
    en = "en"


@dataclass
class Row:
    """One unit's line of a report: what the API answered for it. A unit may be in one answer
    and not the other (a commune whose households all left is in the transitions only): a
    report shows the units its source answered for."""

    code: str
    name: str
    figures: UnitFigures | None = None
    information: InformationFigures | None = None
    transitions: UnitTransitions | None = None


@dataclass(frozen=True)
class Column:
    """A column read from the figures (and the information figures)."""

    vi: str
    en: str
    kind: Kind
    value: Callable[[UnitFigures, InformationFigures | None], Cell]
    group: tuple[str, str] | None = None  # a header over several columns (vi, en)

    def header(self, lang: Lang) -> str:
        return self.vi if lang is Lang.vi else self.en

    def cell(self, row: Row) -> Cell:
        return None if row.figures is None else self.value(row.figures, row.information)


@dataclass(frozen=True)
class TransitionsColumn:
    """A column read from the transitions answer (reports 2 and 3)."""

    vi: str
    en: str
    kind: Kind
    value: Callable[[UnitTransitions], Cell]
    group: tuple[str, str] | None = None

    def header(self, lang: Lang) -> str:
        return self.vi if lang is Lang.vi else self.en

    def cell(self, row: Row) -> Cell:
        return None if row.transitions is None else self.value(row.transitions)


AnyColumn = Column | TransitionsColumn


@dataclass(frozen=True)
class Report:
    key: str  # "1" … "7", "information"
    vi: str
    en: str
    columns: Sequence[AnyColumn]
    needs_information: bool = False
    needs_transitions: bool = False
    column_width: float = 13
    # Printed on several pages across, each starting after these many of `columns` (the unit
    # columns repeated on every page): a table too wide to read on one page.
    page_breaks: Sequence[int] = ()
    notes: Sequence[str] = ()  # lines under the table, in the report's language

    def title(self, lang: Lang) -> str:
        return self.vi if lang is Lang.vi else self.en

    def shows(self, row: Row) -> bool:
        """Whether the unit is in the answer this report reads."""
        return row.transitions is not None if self.needs_transitions else row.figures is not None


def fraction(percent: float | None) -> float | None:
    """A percentage of the JSON figures as the fraction a spreadsheet's % format shows."""
    return None if percent is None else percent / 100


def _rate(numerator: int, area: AreaFigures, figures: UnitFigures, unit: str) -> float | None:
    """A rate the figures do not carry (the average band's), by their rule: the count over the
    official resident population, when the denominator is complete (`report._rates`)."""
    resident: int | None = getattr(area, unit).resident
    if figures.denominator.status is not DenominatorStatus.complete or not resident:
        return None
    return round(100 * numerator / resident, 4) / 100


def _results_columns() -> list[Column]:
    columns: list[Column] = []
    for unit, vi, en in (("households", "hộ", "households"), ("persons", "nhân khẩu", "persons")):
        rates = "household_rates" if unit == "households" else "person_rates"

        def counts(name: str, unit: str = unit) -> Callable[[UnitFigures, object], Cell]:
            return lambda f, _: getattr(getattr(f.total, unit), name)

        def rate(name: str, rates: str = rates) -> Callable[[UnitFigures, object], Cell]:
            return lambda f, _: fraction(getattr(getattr(f.total, rates), name))

        def average_rate(unit: str = unit) -> Callable[[UnitFigures, object], Cell]:
            return lambda f, _: _rate(getattr(f.total, unit).average, f.total, f, unit)

        columns += [
            Column(f"Tổng số {vi}", f"Resident {en}", Kind.number, counts("resident")),
            Column(f"Số {vi} đã rà soát", f"Surveyed {en}", Kind.number, counts("surveyed")),
            Column(f"Số {vi} nghèo", f"Poor {en}", Kind.number, counts("poor")),
            Column("Tỷ lệ (%)", "Rate (%)", Kind.percent, rate("poverty_rate_percent")),
            Column(f"Số {vi} cận nghèo", f"Near-poor {en}", Kind.number, counts("near_poor")),
            Column("Tỷ lệ (%)", "Rate (%)", Kind.percent, rate("near_poverty_rate_percent")),
            Column(
                f"Số {vi} có mức sống trung bình",
                f"Average-standard {en}",
                Kind.number,
                counts("average"),
            ),
            Column("Tỷ lệ (%)", "Rate (%)", Kind.percent, average_rate()),
            Column(
                "Tỷ lệ nghèo đa chiều (%)",
                "Multidimensional poverty rate (%)",
                Kind.percent,
                rate("multidimensional_poverty_rate_percent"),
            ),
        ]
    return columns


def _deprivation_columns(household_class: str, kind: Kind, standard: Standard) -> list[Column]:
    group_vi = "hộ nghèo" if household_class == "poor" else "hộ cận nghèo"
    group_en = "poor households" if household_class == "poor" else "near-poor households"
    percent = kind is Kind.percent

    def indicator(index: int) -> Callable[[UnitFigures, object], Cell]:
        def cell(f: UnitFigures, _: object) -> Cell:
            item = f.deprivation[household_class].indicators[index]
            return fraction(item.share_percent) if percent else item.households

        return cell

    def dimension(index: int) -> Callable[[UnitFigures, object], Cell]:
        def cell(f: UnitFigures, _: object) -> Cell:
            item = f.deprivation[household_class].dimensions[index]
            return fraction(item.share_percent) if percent else item.households

        return cell

    columns = [
        Column(
            f"Tổng số {group_vi}",
            f"All {group_en}",
            Kind.number,
            lambda f, _: f.deprivation[household_class].households,
        )
    ]
    columns += [
        Column(f"{i.number}. {i.name.vi}", f"{i.number}. {i.name.en}", kind, indicator(index))
        for index, i in enumerate(standard.indicators)
    ]
    columns += [
        Column(f"Chiều: {d.name.vi}", f"Dimension: {d.name.en}", kind, dimension(index))
        for index, d in enumerate(standard.dimensions)
    ]
    if not percent:
        columns.append(
            Column(
                "Tổng số lượt thiếu hụt",
                "Total deprivations",
                Kind.number,
                lambda f, _: f.deprivation[household_class].total_deprivations,
            )
        )
    return columns


def _information_columns(standard: Standard) -> list[Column]:
    columns: list[Column] = []
    groups = (
        ("all", "tất cả hộ", "all households"),
        ("poor", "hộ nghèo", "poor"),
        ("near_poor", "hộ cận nghèo", "near-poor"),
    )
    for group, vi, en in groups:

        def households(
            group: str = group,
        ) -> Callable[[UnitFigures, InformationFigures | None], Cell]:
            return lambda _, info: info.groups[group].households if info else None

        def indicator(index: int, share: bool, group: str = group) -> Callable[..., Cell]:
            def cell(_: UnitFigures, info: InformationFigures | None) -> Cell:
                if info is None:
                    return None
                item = info.groups[group].indicators[index]
                return fraction(item.share_percent) if share else item.households

            return cell

        def together(share: bool, group: str = group) -> Callable[..., Cell]:
            def cell(_: UnitFigures, info: InformationFigures | None) -> Cell:
                if info is None:
                    return None
                item = info.groups[group].together
                return fraction(item.share_percent) if share else item.households

            return cell

        columns.append(Column(f"Số hộ ({vi})", f"Households ({en})", Kind.number, households()))
        information = [i for i in standard.indicators if i.dimension == "information"]
        for index, item in enumerate(information):
            columns += [
                Column(
                    f"Thiếu hụt {item.number} ({vi})",
                    f"Deprived in #{item.number} ({en})",
                    Kind.number,
                    indicator(index, False),
                ),
                Column("Tỷ lệ (%)", "Share (%)", Kind.percent, indicator(index, True)),
            ]
        columns += [
            Column(
                f"Thiếu hụt cả hai ({vi})",
                f"Deprived in both ({en})",
                Kind.number,
                together(False),
            ),
            Column("Tỷ lệ (%)", "Share (%)", Kind.percent, together(True)),
        ]
    return columns


# Reports 2 and 3: the provincial templates' rows (DOMAIN §5), one column per row of the
# transitions answer, "other" split by what happened as the answer splits it.
_ROW_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    POOR: {
        "to_near_poor": ("Thoát nghèo, thành cận nghèo", "Exited to near-poor"),
        "above_near_poor": ("Thoát nghèo, trên chuẩn cận nghèo", "Exited above near-poor"),
        "from_near_poor": ("Từ hộ cận nghèo", "From near-poor"),
        "fell_back": ("Tái nghèo", "Fell back (tái nghèo)"),
        "newly": ("Phát sinh mới", "Newly poor"),
    },
    NEAR_POOR: {
        "to_poor": ("Thành hộ nghèo", "Became poor"),
        "above_near_poor": ("Thoát cận nghèo", "Exited above near-poor"),
        "from_poor": ("Từ hộ nghèo", "From poor"),
        "fell_back": ("Tái cận nghèo", "Fell back into near-poverty"),
        "newly": ("Phát sinh mới", "Newly near-poor"),
    },
}
_OTHER_NAMES = {
    "other_moved_away": ("Khác: chuyển đi", "Other: moved away"),
    "other_gone": ("Khác: không còn (tách, nhập, giải thể)", "Other: gone (merged, dissolved)"),
    "other_smaller": ("Khác: giảm nhân khẩu", "Other: fewer members"),
    "other_moved_in": ("Khác: chuyển đến", "Other: moved in"),
    "other_appeared": ("Khác: xuất hiện lần đầu", "Other: first seen"),
    "other_returned": ("Khác: trở lại", "Other: returned"),
    "other_larger": ("Khác: tăng nhân khẩu", "Other: more members"),
}


def _transitions_columns(household_class: str) -> tuple[list[AnyColumn], list[int]]:
    """The columns, households then persons, and where the persons' page starts."""
    class_vi = "nghèo" if household_class == POOR else "cận nghèo"
    class_en = "poor" if household_class == POOR else "near-poor"
    columns: list[AnyColumn] = []
    units = (("households", "hộ", "households"), ("persons", "nhân khẩu", "persons"))
    breaks: list[int] = []
    for counted, vi, en in units:
        if columns:
            breaks.append(len(columns))

        def read(
            what: Callable[[TransitionTable], int], counted: str = counted
        ) -> Callable[[UnitTransitions], Cell]:
            return lambda unit: what(getattr(getattr(unit, household_class), counted))

        def row_of(side: str, name: str) -> Callable[[TransitionTable], int]:
            return lambda found: int(getattr(found, side)[name])

        def total_of(side_total: str) -> Callable[[TransitionTable], int]:
            return lambda found: int(getattr(found, side_total))

        columns.append(
            TransitionsColumn(
                f"Số {vi} {class_vi} đầu kỳ",
                f"{class_en.capitalize()} {en} at start",
                Kind.number,
                read(lambda found: found.start),
            )
        )
        for side, total, rows, side_vi, side_en in (
            ("decreases", "decreases_total", DECREASES, "giảm", "Decreases"),
            ("increases", "increases_total", INCREASES, "tăng", "Increases"),
        ):
            group = (
                f"Số {vi} {class_vi} {side_vi} trong kỳ",
                f"{side_en} of {class_en} {en}",
            )
            columns.append(
                TransitionsColumn(
                    "Tổng số",
                    "Total",
                    Kind.number,
                    read(total_of(total)),
                    group,
                )
            )
            for name in rows[household_class]:
                if counted == "households" and name in PERSONS_ONLY:
                    continue  # a size change moves persons, never households
                vi_name, en_name = (_ROW_NAMES[household_class] | _OTHER_NAMES)[name]
                columns.append(
                    TransitionsColumn(
                        vi_name, en_name, Kind.number, read(row_of(side, name)), group
                    )
                )
        columns.append(
            TransitionsColumn(
                f"Số {vi} {class_vi} cuối kỳ",
                f"{class_en.capitalize()} {en} at end",
                Kind.number,
                read(lambda found: found.end),
            )
        )
    return columns, breaks


def _transitions_report(key: str, vi: str, en: str, household_class: str) -> Report:
    columns, breaks = _transitions_columns(household_class)
    return Report(
        key,
        vi,
        en,
        columns,
        needs_transitions=True,
        column_width=10,
        page_breaks=breaks,
    )


ReportName = Literal["1", "2", "3", "4", "5", "6", "7", "information"]
TRANSITION_REPORTS = ("2", "3")
REPORT_KEYS: tuple[str, ...] = get_args(ReportName)


def reports(standard: Standard) -> dict[str, Report]:
    """The reports this service builds, by key, for a round under `standard`."""
    return {
        "1": Report(
            "1",
            "Biểu 1. Kết quả rà soát hộ nghèo, hộ cận nghèo",
            "Report 1. Results of the review of poor and near-poor households",
            _results_columns(),
        ),
        "2": _transitions_report(
            "2",
            "Biểu 2. Diễn biến hộ nghèo",
            "Report 2. Transitions of poor households",
            POOR,
        ),
        "3": _transitions_report(
            "3",
            "Biểu 3. Diễn biến hộ cận nghèo",
            "Report 3. Transitions of near-poor households",
            NEAR_POOR,
        ),
        "4": Report(
            "4",
            "Biểu 4. Số hộ nghèo thiếu hụt theo chỉ số",
            "Report 4. Poor households deprived, by indicator",
            _deprivation_columns("poor", Kind.number, standard),
        ),
        "5": Report(
            "5",
            "Biểu 5. Tỷ lệ hộ nghèo thiếu hụt theo chỉ số",
            "Report 5. Share of poor households deprived, by indicator",
            _deprivation_columns("poor", Kind.percent, standard),
        ),
        "6": Report(
            "6",
            "Biểu 6. Số hộ cận nghèo thiếu hụt theo chỉ số",
            "Report 6. Near-poor households deprived, by indicator",
            _deprivation_columns("near_poor", Kind.number, standard),
        ),
        "7": Report(
            "7",
            "Biểu 7. Tỷ lệ hộ cận nghèo thiếu hụt theo chỉ số",
            "Report 7. Share of near-poor households deprived, by indicator",
            _deprivation_columns("near_poor", Kind.percent, standard),
        ),
        "information": Report(
            "information",
            "Chiều thiếu hụt về thông tin",
            "The information dimension",
            _information_columns(standard),
            needs_information=True,
        ),
    }
