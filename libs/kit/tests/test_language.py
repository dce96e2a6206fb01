import pytest

from kit.language import preferred_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("vi", "vi"),
        ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
        ("en-US,en;q=0.9,vi;q=0.8", "en"),
        ("fr;q=1,vi;q=0.5", "vi"),
        ("vi;q=0", "en"),
        ("vi;q=abc, en", "en"),
        ("de", "en"),
    ],
)
def test_the_preferred_supported_language(header: str | None, language: str) -> None:
    assert preferred_language(header) == language
