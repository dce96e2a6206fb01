"""What callers may send for dates, instants and offsets: the documented formats, nothing else."""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from kit.fields import Instant, IsoDate

dates = TypeAdapter(IsoDate)
instants = TypeAdapter(Instant)


class TestIsoDate:
    def test_a_day_as_text_is_read(self) -> None:
        assert dates.validate_python("2025-07-01") == date(2025, 7, 1)

    @pytest.mark.parametrize("value", [0, 1.5, "0", "1751328000", "20250701", "2025-7-1", ""])
    def test_a_number_or_other_text_is_refused(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            dates.validate_python(value)

    def test_the_schema_is_a_date_string(self) -> None:
        assert dates.json_schema() == {"type": "string", "format": "date"}


class TestInstant:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2025-07-01T08:30:00+07:00", datetime(2025, 7, 1, 1, 30, tzinfo=UTC)),
            ("2025-07-01T01:30:00Z", datetime(2025, 7, 1, 1, 30, tzinfo=UTC)),
            ("2025-07-01T01:30:00.25Z", datetime(2025, 7, 1, 1, 30, 0, 250000, tzinfo=UTC)),
        ],
    )
    def test_rfc_3339_text_is_read_with_its_zone(self, text: str, expected: datetime) -> None:
        assert instants.validate_python(text) == expected

    @pytest.mark.parametrize(
        "value", [0, 0.5, "0.5", "2025-07-01T08:30:00", "2025-07-01", "2025-07-01 08:30:00Z"]
    )
    def test_numbers_and_times_without_a_zone_are_refused(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            instants.validate_python(value)

    def test_an_aware_datetime_is_kept(self) -> None:
        moment = datetime(2025, 7, 1, 8, 30, tzinfo=timezone(timedelta(hours=7)))

        assert instants.validate_python(moment) == moment

    def test_the_schema_is_a_date_time_string(self) -> None:
        assert instants.json_schema() == {"type": "string", "format": "date-time"}
