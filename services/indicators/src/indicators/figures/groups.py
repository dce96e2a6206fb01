"""Households classified alike, grouped in SQL and turned into counters.

A GROUP BY over `household_classification` by class, area and deprivations (with whatever else
a reader groups by: a commune, a target) gives each group's number of households, persons and
sum of record keys; `household_counts` turns a group into the counters its households would add
one by one, cell keys included. Restated figures (`restatement/`) and figures as of a date
(`as_of/`) both count this way, so they count as a round's own figures do.
"""

import json
from typing import Any

from sqlalchemy import ColumnElement, String, cast, func
from sqlmodel import col

from indicators.figures.counts import Counts, household_counts


def deprived(classification: Any) -> ColumnElement[Any]:
    """The deprived indicators as JSON text, for every class: the information dimension is
    counted for every class (`counts.INFORMATION`), so households group by their deprivations
    whatever their class."""
    return cast(col(classification.result)["deprived"], String)


def record_key(classification: Any) -> ColumnElement[Any]:
    return func.coalesce(col(classification.record_key), 0)


def group_counts(
    *,
    household_class: str,
    area: str,
    deprived_text: str | None,
    households: int,
    persons: int,
    key_sum: int,
) -> Counts:
    """The counters of a group of households classified alike."""
    return household_counts(
        household_class=household_class,
        area=area,
        persons=int(persons),
        deprived=json.loads(deprived_text) if deprived_text else [],
        record_key=int(key_sum),
        households=int(households),
    )
