"""Charts drawn on the server (matplotlib, Agg, no display): SVG for the API, PNG for workbooks.

Each function takes plain numbers and labels and returns a `Figure`; `render` turns one into
bytes. They never read the database, so any concept can draw with them (targets against their
trajectory: `target_trajectory`, drawn by the targets' chart endpoint). Texts are Vietnamese or
English as the caller chose; DejaVu Sans, which ships with matplotlib, has every Vietnamese
glyph.

matplotlib is imported on the first chart, not with this module: it is a third of the indicators
processes' start (about 4 of 13 s on a loaded 2-core machine), and a restarted worker or API that
draws no chart should be back serving without it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT: Any = {"font.family": "DejaVu Sans", "font.size": 9, "svg.hashsalt": "poverty-platform"}
POOR, NEAR_POOR, OTHER, TARGET = "#c0392b", "#e67e22", "#2c7fb8", "#27ae60"


class ChartFormat(StrEnum):
    """How a chart is drawn.

    - `svg`: `image/svg+xml`, vector, text selectable
    - `png`: `image/png`, a bitmap
    """

    svg = "svg"
    png = "png"


MEDIA_TYPES = {ChartFormat.svg: "image/svg+xml", ChartFormat.png: "image/png"}


def render(figure: Figure, chart_format: ChartFormat, *, dpi: int = 110) -> bytes:
    """The figure as SVG or PNG bytes (the same bytes for the same figure: no dates inside)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # on first use: module docstring

    buffer = io.BytesIO()
    with _style():
        FigureCanvasAgg(figure)
        metadata = {"Date": None} if chart_format is ChartFormat.svg else {"Software": None}
        figure.savefig(buffer, format=chart_format.value, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def _style() -> AbstractContextManager[Any]:
    import matplotlib  # on first use: module docstring

    return matplotlib.rc_context(FONT)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure  # on first use: module docstring

    with _style():
        return Figure(figsize=(width, height), layout="constrained")


def _percent_axis(axis: object, which: str = "x", decimals: int = 1) -> None:
    from matplotlib.ticker import PercentFormatter  # on first use: module docstring

    formatter = PercentFormatter(decimals=decimals)
    getattr(axis, f"{which}axis").set_major_formatter(formatter)


def rates_by_unit(
    labels: Sequence[str],
    poverty: Sequence[float | None],
    near_poverty: Sequence[float | None],
    *,
    title: str,
    legend: tuple[str, str],
) -> Figure:
    """Poverty and near-poverty rates (in %) of each unit, as stacked horizontal bars, the
    first unit on top. A unit whose rate is withheld (None) shows no bar."""
    with _style():
        figure = _figure(8, max(2.5, 0.28 * len(labels) + 1.4))
        axes = figure.add_subplot()
        positions = list(range(len(labels)))[::-1]
        poor = [value or 0.0 for value in poverty]
        near = [value or 0.0 for value in near_poverty]
        axes.barh(positions, poor, color=POOR, label=legend[0])
        axes.barh(positions, near, left=poor, color=NEAR_POOR, label=legend[1])
        axes.set_yticks(positions, labels)
        axes.set_title(title, loc="left", fontweight="bold")
        _percent_axis(axes)
        axes.grid(axis="x", alpha=0.3)
        axes.set_axisbelow(True)
        figure.legend(loc="outside lower center", ncols=3, frameon=False)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        return figure


def trend(
    periods: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
) -> Figure:
    """Rates (in %) of one unit across rounds: one line per series, gaps where withheld."""
    colours = (POOR, NEAR_POOR, OTHER, TARGET)
    with _style():
        figure = _figure(7, 3.6)
        axes = figure.add_subplot()
        for (label, values), colour in zip(series, colours, strict=False):
            ys = [float("nan") if value is None else value for value in values]
            axes.plot(periods, ys, marker="o", color=colour, label=label)
            for x, y in zip(periods, values, strict=True):
                if y is not None:
                    axes.annotate(
                        f"{y:.2f}%",
                        (x, y),
                        textcoords="offset points",
                        xytext=(0, 6),
                        ha="center",
                        fontsize=8,
                        color=colour,
                    )
        axes.set_title(title, loc="left", fontweight="bold")
        _percent_axis(axes, "y")
        top = max((v for _, values in series for v in values if v is not None), default=1.0)
        axes.set_ylim(0, top * 1.25 or 1.0)
        axes.grid(axis="y", alpha=0.3)
        figure.legend(loc="outside lower center", ncols=3, frameon=False)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        return figure


def deprivation_profile(
    indicators: Sequence[str],
    shares: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
) -> Figure:
    """Share (in %) of a group's households deprived in each indicator, one bar per group, the
    first indicator on top."""
    colours = (POOR, NEAR_POOR, OTHER)
    with _style():
        figure = _figure(8, max(3.0, 0.42 * len(indicators) + 1.4))
        axes = figure.add_subplot()
        height = 0.8 / max(1, len(shares))
        base = list(range(len(indicators)))[::-1]
        for offset, ((label, values), colour) in enumerate(zip(shares, colours, strict=False)):
            positions = [p + 0.4 - height * (offset + 0.5) for p in base]
            axes.barh(
                positions, [v or 0.0 for v in values], height=height, color=colour, label=label
            )
        axes.set_yticks(base, indicators)
        axes.set_xlim(0, 100)
        _percent_axis(axes, decimals=0)
        axes.set_title(title, loc="left", fontweight="bold")
        axes.grid(axis="x", alpha=0.3)
        axes.set_axisbelow(True)
        figure.legend(loc="outside lower center", ncols=3, frameon=False)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        return figure


def target_trajectory(
    periods: Sequence[str],
    actual: Sequence[float | None],
    trajectory: Sequence[float | None],
    *,
    target: float,
    title: str,
    labels: tuple[str, str, str] = ("Actual", "Trajectory needed", "Target"),
    provisional: Sequence[bool] = (),
    provisional_label: str = "Provisional figures",
) -> Figure:
    """A rate (in %) against the trajectory that reaches `target` by the last period: for
    targets (`GET /api/v1/targets/{id}/chart`). Each actual rate is labelled; those of
    `provisional` figures are drawn hollow."""
    with _style():
        figure = _figure(7, 3.6)
        axes = figure.add_subplot()
        nan = float("nan")
        axes.plot(
            periods,
            [nan if v is None else v for v in trajectory],
            linestyle="--",
            color=OTHER,
            label=labels[1],
        )
        axes.axhline(target, color=TARGET, linewidth=1, label=labels[2])
        axes.plot(
            periods,
            [nan if v is None else v for v in actual],
            marker="o",
            color=POOR,
            label=labels[0],
        )
        hollow = [
            (x, y)
            for x, y, flag in zip(periods, actual, provisional, strict=False)
            if flag and y is not None
        ]
        if hollow:
            axes.plot(
                [x for x, _ in hollow],
                [y for _, y in hollow],
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                color=POOR,
                label=provisional_label,
            )
        for x, y, needed in zip(periods, actual, trajectory, strict=True):
            if y is not None:
                # Under the point when it is under the trajectory: clear of the dashed line.
                below = needed is not None and y <= needed
                axes.annotate(
                    f"{y:.2f}%",
                    (x, y),
                    textcoords="offset points",
                    xytext=(0, -13 if below else 7),
                    ha="center",
                    fontsize=8,
                    color=POOR,
                )
        axes.set_title(title, loc="left", fontweight="bold")
        _percent_axis(axes, "y", decimals=2)
        values = [v for v in (*actual, *trajectory, target) if v is not None]
        axes.set_ylim(0, (max(values, default=1.0) * 1.25) or 1.0)
        axes.grid(axis="y", alpha=0.3)
        figure.legend(loc="outside lower center", ncols=4, frameon=False)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        return figure
