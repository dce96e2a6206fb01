"""What callers may send for dates, instants, offsets and text: the documented formats and one
canonical form of text, nothing else."""

import math
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from kit.fields import Code, Instant, IsoDate, RequestBody, Text

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


texts = TypeAdapter(Text)
codes = TypeAdapter(Code)

# Each would make two different values look alike, or one look like another.
INVISIBLE = {
    "NUL": "\x00",
    "tab": "\t",
    "line feed": "\n",
    "DEL": "\x7f",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "line separator": "\u2028",
    "private use": "\ue000",
    "unassigned": "\U000e0080",
}
invisible = pytest.mark.parametrize("character", INVISIBLE.values(), ids=INVISIBLE.keys())


class TestText:
    def test_decomposed_vietnamese_equals_composed(self) -> None:
        decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Lành")
        assert decomposed != "Nguyễn Thị Lành"

        assert texts.validate_python(decomposed) == "Nguyễn Thị Lành"

    def test_is_trimmed(self) -> None:
        assert texts.validate_python("  Thôn Đông \u3000") == "Thôn Đông"

    def test_keeps_compatibility_characters_and_case(self) -> None:
        # NFC, not NFKC: free text keeps what was typed (a full-width letter, a ligature).
        assert texts.validate_python("Ｎhà ﬁ") == "Ｎhà ﬁ"

    @invisible
    def test_control_and_invisible_characters_are_refused(self, character: str) -> None:
        with pytest.raises(ValidationError, match="invisible character"):
            texts.validate_python(f"Thôn{character}1")

    def test_a_non_string_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="valid string"):
            texts.validate_python(12)

    def test_length_limits_apply_to_the_trimmed_text(self) -> None:
        class Village(RequestBody):
            village: Text = Field(min_length=1, max_length=3)

        assert Village(village="  abc  ").village == "abc"
        with pytest.raises(ValidationError):
            Village(village="   ")


class TestCode:
    def test_full_width_and_lower_case_read_as_one_code(self) -> None:
        assert codes.validate_python(" ｈｈ－０１ ") == "HH-01"
        assert codes.validate_python("hh-01") == codes.validate_python("HH-01")

    def test_vietnamese_letters_are_upper_cased_composed(self) -> None:
        assert codes.validate_python(unicodedata.normalize("NFD", "đông-1")) == "ĐÔNG-1"

    @invisible
    def test_control_and_invisible_characters_are_refused(self, character: str) -> None:
        with pytest.raises(ValidationError, match="invisible character"):
            codes.validate_python(f"HH{character}01")

    def test_a_digit_pattern_refuses_other_scripts_digits(self) -> None:
        pattern = TypeAdapter(Annotated[Code, Field(pattern=r"^[0-9]{5}$")])

        assert pattern.validate_python("０８７０７") == "08707"
        with pytest.raises(ValidationError):
            pattern.validate_python("٠٨٧٠٧")  # Arabic-Indic digits have no ASCII equivalent


class Survey(RequestBody):
    area: float = Field(ge=0)
    name: str | None = None


class TestRequestBody:
    def test_an_unknown_field_is_refused_by_name(self) -> None:
        with pytest.raises(ValidationError) as refused:
            Survey.model_validate({"area": 1.0, "colour": "red"})

        [error] = refused.value.errors()
        assert error["loc"] == ("colour",)
        assert error["type"] == "extra_forbidden"

    @pytest.mark.parametrize("text", ["1e309", "-1e309", "Infinity", "NaN"])
    def test_a_number_that_is_not_finite_is_refused_from_json(self, text: str) -> None:
        with pytest.raises(ValidationError) as refused:
            Survey.model_validate_json(f'{{"area": {text}}}')

        [error] = refused.value.errors()
        assert error["loc"] == ("area",)

    @pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
    def test_a_number_that_is_not_finite_is_refused_from_python(self, number: float) -> None:
        with pytest.raises(ValidationError) as refused:
            Survey(area=number)

        [error] = refused.value.errors()
        assert error["loc"] == ("area",)
        assert error["type"] == "finite_number"

    def test_the_largest_finite_number_is_accepted(self) -> None:
        assert Survey.model_validate_json('{"area": 1.7976931348623157e308}').area > 1e308
