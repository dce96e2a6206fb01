"""Which values of the survey's enums each standard puts where, for the API document.

The survey's lists (water sources, latrines, devices, …) are defined once in the event contracts;
which of them count as safe, hygienic or an information device is the standard's data. The notes
are generated from the standards' rules, so the document says what the data says.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from indicators.standard.schemas import Standard


def enum_notes(standards: Iterable[Standard]) -> dict[str, list[str]]:
    """By enum class name: one line per standard and indicator whose rule lists its values."""
    notes: dict[str, list[str]] = defaultdict(list)
    for standard in standards:
        for indicator in standard.indicators:
            if indicator.rule is None:
                continue
            lists: dict[str, list[str]] = defaultdict(list)
            for path, values in _enum_lists(indicator.rule, ""):
                listed = ", ".join(f"`{value.value}`" for value in values)
                lists[type(values[0]).__name__].append(f"{path}: {listed}")
            for enum, paths in lists.items():
                notes[enum].append(
                    f"`{standard.id}`, indicator {indicator.number} {indicator.name.en} / "
                    f"{indicator.name.vi} (`{indicator.key}`; deprived if: "
                    f"{indicator.deprived_if.rstrip('.')}) — " + "; ".join(paths) + "."
                )
    return dict(notes)


def _enum_lists(value: Any, path: str) -> Iterator[tuple[str, list[StrEnum]]]:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _enum_lists(getattr(value, name), f"{path} {name}" if path else name)
    elif isinstance(value, list) and value:
        if all(isinstance(item, StrEnum) for item in value):
            yield path, value
        else:
            for index, item in enumerate(value):
                low, high = getattr(item, "min_years", None), getattr(item, "max_years", None)
                label = f"aged {low}–{high}" if low is not None else str(index)
                yield from _enum_lists(item, f"{path} ({label})")
