"""Figures, and the table and file they are written to."""

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import summary


@dataclass
class Figure:
    """One measured figure beside its reference, its ratio to it and the target."""

    p: str  # P1 … P7
    name: str
    value: float
    unit: str
    n: int  # samples (requests, probes) or households/events the figure is computed from
    reference: str = ""  # what it is compared with, side by side
    reference_value: float | None = None
    ratio: float | None = None  # value / reference_value unless `ratio_note` says otherwise
    target: str = ""
    met: bool | None = None  # None: no target for this figure
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def at_size(
    p: str,
    n: int,
    seconds: float,
    target: str,
    target_seconds: float,
    *,
    size: int = 1_000_000,
    what: str = "households",
    reference: str = "",
    reference_value: float | None = None,
) -> list[Figure]:
    """The figure a size target is judged on, only when measured at that size (`make
    bench-scale`): a smaller run gives none, never a figure by proportion."""
    if n < size:
        return []
    return [
        Figure(
            p,
            f"{n:,} {what}, end to end",
            seconds,
            "s",
            n,
            reference=reference,
            reference_value=reference_value,
            ratio=seconds / reference_value if reference_value else None,
            target=target,
            met=seconds <= target_seconds,
        )
    ]


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure], machine: dict[str, Any]) -> str:
    """The figures as a Markdown table, headed by the machine."""
    lines = [
        f"Machine: {summary(machine)}; load average at start "
        f"{' '.join(str(v) for v in machine['load_average_at_start'])}.",
        "",
        "| P | figure | value | N | side-by-side reference | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        reference = f.reference
        if f.reference_value is not None:
            reference = f"{reference}: {_number(f.reference_value, f.unit)}"
        ratio = f"{f.ratio:.2f}×" if f.ratio is not None and not math.isnan(f.ratio) else "–"
        met = {True: "yes", False: "**no**", None: ""}[f.met]
        lines.append(
            f"| {f.p} | {f.name} | {_number(f.value, f.unit)} | {f.n:,} | {reference} | "
            f"{ratio} | {f.target} | {met} |"
        )
    notes = [f"- {f.p} {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def write(path: Path, figures: list[Figure], machine: dict[str, Any], run: dict[str, Any]) -> None:
    """The figures as JSON at `path`, and the table beside it (same name, `.md`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"run": run, "machine": machine, "figures": [asdict(f) for f in figures]}
    text = json.dumps(_plain(document), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    path.with_suffix(".md").write_text(table(figures, machine), encoding="utf-8")


def update_docs(path: Path, text: str, *, section: str = "bench") -> None:
    """Replace the text between the markers `<!-- SECTION:begin -->` and `<!-- SECTION:end -->`
    of `path` (a Markdown page) with `text`: `bench` for `make bench`, `bench-scale` for `make
    bench-scale`."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    page = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(page):
        raise ValueError(f"{path} has no {begin} … {end} section to replace")
    path.write_text(pattern.sub(lambda _: f"{begin}\n{text}{end}", page), encoding="utf-8")


def _plain(value: object) -> object:
    """JSON-ready: NaN (nothing measured) as null, rounded floats, tuples as lists."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
