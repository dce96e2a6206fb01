"""Field types for what callers send: the formats the OpenAPI document names, and nothing else.

Pydantic's lax mode also reads a number as a Unix timestamp (`?on=0` is 1 January 1970), and a
timestamp without a zone as one in no zone at all. The API documents `date` and `date-time`
(RFC 3339), so these types accept exactly that text (or a value of the Python type, for callers in
the same process), and refuse everything else with a field error.

    class RoundCreate(BaseModel):
        reference_date: IsoDate

    async def list_entries(since: Annotated[Instant | None, Query()] = None) -> ...

`Offset` is a page's start in a list: bounded, so that no number reaches the database as one too
large for its integers (SQLite and PostgreSQL alike refuse past 2**63).
"""

import re
from datetime import date, datetime
from typing import Annotated, TypeAlias

from fastapi import Query
from pydantic import AwareDatetime, BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _date_text(value: object) -> object:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise ValueError("Input should be a date as YYYY-MM-DD")


def _date_time_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return value
    raise ValueError("Input should be a date and time with its zone, as 2025-07-01T08:30:00+07:00")


IsoDate: TypeAlias = Annotated[date, BeforeValidator(_date_text)]
"""A calendar day, sent as `YYYY-MM-DD`."""

Instant: TypeAlias = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]
"""A moment, sent as an RFC 3339 date-time with its zone (`Z` or `+07:00`)."""

MAX_OFFSET = 2**31 - 1
Offset: TypeAlias = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
"""How many items of a list to skip: `offset: Offset = 0`."""
