"""The review calendar as data (`calendar.json`): which occasions are reminded, and when.

Country-wide occasions fall on a day of the year (the periodic review's opening and end) or of
every month (the regular review); the end of a commune's posting period is the last day the
commune set for it, `posting_until` of its `households.review.step_changed.v1` to `posted` (the
length of a posting is the commune's to set: DOMAIN §6 gives none, so no number of days is
written here). Only a step event that names no last day (published before the field existed)
falls back on `fallback_posting_period_days` from the posting day. Each occasion is reminded
`days_before` it (0: on the day).
"""

import json
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

CALENDAR_FILE = Path(__file__).with_name("calendar.json")


class Occasion(BaseModel):
    type: str = Field(pattern=r"^reminder\.[a-z_]+$")
    month: int | None = Field(default=None, ge=1, le=12)
    day: int | None = Field(default=None, ge=1, le=31)
    monthly_day: int | None = Field(default=None, ge=1, le=28)
    # Marks the posting occasion; its end comes from the event, this only when the event has none.
    fallback_posting_period_days: int | None = Field(default=None, ge=1)
    days_before: list[int] = Field(min_length=1)

    def dates_near(self, today: date) -> list[date]:
        """The occasion's dates that a reminder sent today could be about."""
        horizon = max(self.days_before)
        if self.month is not None and self.day is not None:
            years = (today.year, today.year + 1)
            return [
                d
                for d in (date(year, self.month, self.day) for year in years)
                if today <= d <= today + timedelta(days=horizon)
            ]
        if self.monthly_day is not None:
            first = today.replace(day=1)
            following = (first + timedelta(days=32)).replace(day=1)
            candidates = (
                first.replace(day=self.monthly_day),
                following.replace(day=self.monthly_day),
            )
            return [d for d in candidates if today <= d <= today + timedelta(days=horizon)]
        return []


class Calendar(BaseModel):
    source: str
    occasions: list[Occasion]

    @property
    def posting(self) -> Occasion | None:
        return next((o for o in self.occasions if o.fallback_posting_period_days is not None), None)


@cache
def calendar() -> Calendar:
    return Calendar.model_validate(json.loads(CALENDAR_FILE.read_text(encoding="utf-8")))


def reminder_types() -> list[str]:
    return sorted(occasion.type for occasion in calendar().occasions)
