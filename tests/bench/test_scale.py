"""`python -m bench --scale` (make bench-scale): the size targets' sizes, its own section of the
page and file, and the peak memory it reports."""

import os
from pathlib import Path

import pytest

from bench.__main__ import SCALE_OUT, arguments
from bench.memory import high_water_mib, summary
from bench.report import update_docs


def test_scale_runs_the_size_targets_at_their_sizes() -> None:
    options = arguments(["--scale"])

    assert options.parts == {"P4", "P6", "P7", "P8"}
    assert options.households == 1_000_000
    assert options.backlog == 100_000
    assert options.out == SCALE_OUT


def test_scale_can_be_run_smaller_while_developing() -> None:
    options = arguments(["--scale", "--households", "20000", "--backlog", "20000"])

    assert (options.households, options.backlog) == (20_000, 20_000)
    assert options.parts == {"P4", "P6", "P7", "P8"}


def test_without_scale_the_quick_and_full_sizes_are_unchanged() -> None:
    assert arguments([]).households == 5_000
    assert arguments(["--quick"]).backlog == 200
    assert arguments([]).out != SCALE_OUT


def test_scale_and_quick_are_refused_together() -> None:
    with pytest.raises(SystemExit):
        arguments(["--scale", "--quick"])


def test_each_run_replaces_only_its_own_section(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(
        "a\n<!-- bench:begin -->\nold quick\n<!-- bench:end -->\n"
        "b\n<!-- bench-scale:begin -->\nold scale\n<!-- bench-scale:end -->\nc\n",
        encoding="utf-8",
    )

    update_docs(page, "new scale\n", section="bench-scale")

    text = page.read_text(encoding="utf-8")
    assert "old quick" in text
    assert "old scale" not in text
    assert "<!-- bench-scale:begin -->\nnew scale\n<!-- bench-scale:end -->" in text


def test_a_page_without_the_section_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("<!-- bench:begin -->\n<!-- bench:end -->\n", encoding="utf-8")

    with pytest.raises(ValueError, match="bench-scale:begin"):
        update_docs(page, "x\n", section="bench-scale")


def test_the_high_water_mark_of_a_running_process_is_read() -> None:
    mib = high_water_mib(os.getpid())

    assert mib is not None
    assert mib > 1


def test_a_process_gone_has_no_high_water_mark() -> None:
    assert high_water_mib(2**22 + 1) is None  # above Linux's largest pid


def test_the_summary_sums_the_platform_without_the_benchmark() -> None:
    text = summary(
        {"indicators-worker": 300.0, "households-importer": 200.0, "bench (client)": 900.0}
    )

    assert "indicators-worker 300" in text
    assert "together at most 500" in text


def test_seconds_shortens_the_load_runs_and_nothing_else() -> None:
    options = arguments(["--seconds", "6"])

    assert options.seconds == 6
    assert options.households == 5_000


def test_seconds_must_be_positive() -> None:
    with pytest.raises(SystemExit):
        arguments(["--seconds", "0"])
