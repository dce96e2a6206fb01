"""The summary reports sent upward (DOMAIN §5), as tables: their columns in Vietnamese and
English and where each cell comes from in the JSON figures.

Every cell is read from the figures a caller gets from `GET /api/v1/figures/...` (or the
information figures): nothing is counted again here, so a report shows exactly what the API
shows the same caller, perturbed or exact. Reports 2 and 3 (transitions between rounds) come
with the transitions between rounds; they are not built here.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, get_args

from indicators.figures.schemas import AreaFigures, DenominatorStatus, UnitFigures
from indicators.information.schemas import InformationFigures
from indicators.standard.schemas import Standard

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


@dataclass(frozen=True)
class Column:
    vi: str
    en: str
    kind: Kind
    value: Callable[[UnitFigures, InformationFigures | None], Cell]

    def header(self, lang: Lang) -> str:
        return self.vi if lang is Lang.vi else self.en


@dataclass(frozen=True)
class Report:
    key: str  # "1", "4" … "7", "information"
    vi: str
    en: str
    columns: Sequence[Column]
    needs_information: bool = False

    def title(self, lang: Lang) -> str:
        return self.vi if lang is Lang.vi else self.en


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


ReportName = Literal["1", "4", "5", "6", "7", "information"]
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
