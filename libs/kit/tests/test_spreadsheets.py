"""Text that a spreadsheet would run as a formula is written as text; everything else as it is."""

import pytest

from kit.spreadsheets import safe_cell, safe_row


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_a_text_that_starts_a_formula_gets_an_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_other_cells_are_kept_as_they_are() -> None:
    assert safe_row([-5, -2.5, 0, None, True, "Nguyễn Văn A", "a=b", "", "'x"]) == [
        -5,
        -2.5,
        0,
        None,
        True,
        "Nguyễn Văn A",
        "a=b",
        "",
        "'x",
    ]
