"""The benchmark's size targets are judged only on figures measured at that size."""

from bench.report import at_size


def test_a_smaller_run_gives_no_figure_at_size() -> None:
    assert at_size("P7", 50_000, 1.25, "≤ 5 s", 5.0) == []


def test_a_run_at_size_is_judged_on_what_it_measured() -> None:
    [figure] = at_size(
        "P6", 1_000_000, 150.0, "≤ 120 s", 120.0, reference="bare COPY", reference_value=50.0
    )

    assert figure.n == 1_000_000
    assert figure.value == 150.0
    assert figure.ratio == 3.0
    assert figure.met is False
