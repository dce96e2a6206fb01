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

Text is compared and stored in one canonical form, so that what looks the same is the same:

    class HouseholdCreate(RequestBody):
        household_code: Code = Field(min_length=1, max_length=40)
        village: Text = Field(min_length=1, max_length=120)

`Text` (names, villages, addresses) is NFC — "Nguyễn" typed with combining marks is the same
"Nguyễn" — and trimmed. `Code` (household codes, unit codes, standard ids) is NFKC — full-width
"ＨＨ－０１" is "HH-01" — trimmed and upper-cased: codes are compared case-insensitively by
storing them in capitals. Both refuse control and invisible characters (NUL, tabs and line
breaks, zero-width spaces and joiners, bidi overrides, private-use and unassigned code points),
which would make two different values print alike or a value print as something else.

`RequestBody` is the base of every request body: an unknown field is refused (422 naming it)
rather than silently dropped, and so is a number that is not finite (`NaN`, `Infinity`, or a
literal too large for a float, such as `1e309`), which JSON cannot carry on to anyone else.
Response models stay plain `BaseModel`s, lenient about what they are built from.
"""

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal, TypeAlias

from fastapi import Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict

from kit.db import as_utc

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

UtcDatetime: TypeAlias = Annotated[datetime, AfterValidator(as_utc)]
"""A moment answered from the database, always with its zone (UTC)."""

MAX_OFFSET = 2**31 - 1
Offset: TypeAlias = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
"""How many items of a list to skip: `offset: Offset = 0`."""


class RequestBody(BaseModel):
    """A request body: unknown fields and non-finite numbers are refused, each naming its field."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Cc: controls (NUL, tab, newline), Cf: invisible formatting (zero-width space and joiners, bidi
# overrides, soft hyphen, BOM), Zl/Zp: line and paragraph separators, Co/Cs/Cn: private-use,
# surrogate and unassigned code points.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def _canonical(value: object, form: Literal["NFC", "NFKC"]) -> object:
    if not isinstance(value, str):
        return value  # the str schema after this refuses it with its own message
    text = unicodedata.normalize(form, value).strip()
    for position, character in enumerate(text):
        if unicodedata.category(character) in _INVISIBLE:
            raise ValueError(
                f"Control or invisible character U+{ord(character):04X} at position {position} "
                "is not allowed"
            )
    return text


def _text(value: object) -> object:
    return _canonical(value, "NFC")


def _code(value: object) -> object:
    text = _canonical(value, "NFKC")
    return text.upper() if isinstance(text, str) else text


Text: TypeAlias = Annotated[str, BeforeValidator(_text)]
"""Free text (a name, a village, an address): NFC, trimmed, no control or invisible characters."""

Code: TypeAlias = Annotated[str, BeforeValidator(_code)]
"""An identifier people type (a household code, a unit code): NFKC, trimmed, upper-cased, nothing
invisible. Write a pattern on it with `[0-9]`, not `\\d`, which matches the digits of every script
(NFKC reads full-width digits as ASCII ones, but leaves Arabic-Indic or Devanagari digits as
they are)."""
