from pathlib import Path

import pytest

from indicators.classification.evaluators import evaluate
from indicators.standard import rules
from indicators.standard.exceptions import StandardDataInvalid, StandardNotFound
from indicators.standard.schemas import StandardStatus
from indicators.standard.service import DATA_DIR, get_standard, load_standards, parse_standard
from kit.errors import NotFound

CURRENT_TEXT = (DATA_DIR / "VN-2022-2025.toml").read_text(encoding="utf-8")


def edited(old: str, new: str) -> str:
    """The shipped VN-2022-2025 text with one edit, which must apply."""
    assert old in CURRENT_TEXT
    return CURRENT_TEXT.replace(old, new, 1)


class TestShippedStandards:
    def test_both_files_load_by_id(self) -> None:
        assert list(load_standards()) == ["VN-2022-2025", "VN-2027-2030"]

    def test_2022_standard_carries_the_confirmed_lines_and_cut_offs(self) -> None:
        standard = get_standard("VN-2022-2025")

        income = standard.income_test
        assert (income.poverty_line.rural, income.poverty_line.urban) == (1_500_000, 2_000_000)
        assert (income.average_band_upper.rural, income.average_band_upper.urban) == (
            2_250_000,
            3_000_000,
        )
        assert (income.score_cutoff.rural, income.score_cutoff.urban) == (140, 175)
        assert standard.deprivation_score.poor_min_score == 30
        assert standard.review_years == [2022, 2023, 2024, 2025, 2026]
        assert standard.status is StandardStatus.in_force
        assert not standard.is_provisional

    def test_2022_standard_carries_the_confirmed_low_income_worker_ceilings(self) -> None:
        # Decree 30/2025/NĐ-CP [C]; the boundary itself is tested from the data (test_boundaries).
        low_income_worker = get_standard("VN-2022-2025").low_income_worker

        assert low_income_worker is not None
        ceiling = low_income_worker.income_ceiling
        assert (ceiling.rural, ceiling.urban) == (2_250_000, 3_000_000)

    def test_2022_standard_has_twelve_evaluable_indicators_in_six_dimensions(self) -> None:
        standard = get_standard("VN-2022-2025")

        assert [indicator.number for indicator in standard.indicators] == list(range(1, 13))
        assert all(indicator.rule is not None for indicator in standard.indicators)
        assert len(standard.dimensions) == 6

    def test_2027_standard_is_provisional_with_confirmed_income_lines(self) -> None:
        standard = get_standard("VN-2027-2030")

        line = standard.income_test.poverty_line
        assert (line.rural, line.urban) == (2_200_000, 2_800_000)
        assert standard.status is StandardStatus.provisional
        assert all(indicator.provisional for indicator in standard.indicators)

    def test_2027_standard_drops_devices_and_adds_unevaluable_indicators(self) -> None:
        standard = get_standard("VN-2027-2030")

        by_key = {indicator.key: indicator for indicator in standard.indicators}
        assert "information_devices" not in by_key
        assert by_key["waste_handling"].rule is None
        assert by_key["waste_handling"].dimension == "water_sanitation_environment"
        assert by_key["digital_service_use"].rule is None

    def test_unknown_standard_is_not_found(self) -> None:
        with pytest.raises(StandardNotFound) as raised:
            get_standard("VN-1999")

        assert isinstance(raised.value, NotFound)
        assert raised.value.status_code == 404


class TestInvalidStandards:
    def test_unknown_rule_kind_is_rejected(self) -> None:
        text = edited('kind = "unsafe_water"', 'kind = "dirty_water"')

        with pytest.raises(StandardDataInvalid, match="dirty_water"):
            parse_standard(text, source="edited.toml")

    def test_duplicate_indicator_key_is_rejected(self) -> None:
        text = edited('key = "floor_area"', 'key = "housing_quality"')

        with pytest.raises(StandardDataInvalid, match="duplicate indicator key: housing_quality"):
            parse_standard(text, source="edited.toml")

    def test_unknown_enum_value_in_a_list_is_rejected(self) -> None:
        text = edited('"rainwater"', '"rain_water"')

        with pytest.raises(StandardDataInvalid, match="rain_water"):
            parse_standard(text, source="edited.toml")

    def test_unknown_parameter_is_rejected(self) -> None:
        text = edited("min_m2_per_person = 8.0", "min_m2_per_persons = 8.0")

        with pytest.raises(StandardDataInvalid, match="min_m2_per_persons"):
            parse_standard(text, source="edited.toml")

    def test_indicator_in_unknown_dimension_is_rejected(self) -> None:
        text = edited('dimension = "information"', 'dimension = "media"')

        with pytest.raises(StandardDataInvalid, match="unknown dimension 'media'"):
            parse_standard(text, source="edited.toml")

    def test_overlapping_age_bands_are_rejected(self) -> None:
        text = edited("{ min_years = 18, max_years = 30", "{ min_years = 17, max_years = 30")

        with pytest.raises(StandardDataInvalid, match="16–17 and 17–30 overlap"):
            parse_standard(text, source="edited.toml")

    def test_indicator_without_rule_must_say_why(self) -> None:
        text = edited('rule = { kind = "no_internet_use", provenance = "R" }', "provisional = true")

        with pytest.raises(StandardDataInvalid, match="no rule and no not_evaluated_reason"):
            parse_standard(text, source="edited.toml")

    def test_error_names_the_file(self) -> None:
        with pytest.raises(StandardDataInvalid, match=r"^broken\.toml: "):
            parse_standard("id = ", source="broken.toml")

    def test_file_named_after_another_id_is_rejected(self, tmp_path: Path) -> None:
        (tmp_path / "VN-2022-2025-local.toml").write_text(CURRENT_TEXT, encoding="utf-8")

        with pytest.raises(StandardDataInvalid, match="declares id 'VN-2022-2025'"):
            load_standards(tmp_path)

    def test_province_scoped_standard_loads_from_its_own_file(self, tmp_path: Path) -> None:
        text = edited('id = "VN-2022-2025"', 'id = "VN-2022-2025-P26"\nprovince_code = "26"')
        (tmp_path / "VN-2022-2025-P26.toml").write_text(text, encoding="utf-8")

        [standard] = load_standards(tmp_path).values()

        assert standard.province_code == "26"


def test_every_rule_kind_has_an_evaluator() -> None:
    kinds = [
        value
        for value in vars(rules).values()
        if isinstance(value, type)
        and issubclass(value, rules.RuleBase)
        and value is not rules.RuleBase
    ]

    assert len(kinds) == 12
    assert all(evaluate.dispatch(kind) is not evaluate.dispatch(rules.RuleBase) for kind in kinds)
