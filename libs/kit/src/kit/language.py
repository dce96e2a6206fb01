"""The language of labels (indicator and class names), chosen by `Accept-Language`.

The domain is Vietnamese: every label exists in Vietnamese and English. English is the default,
as the API's field names and texts are; `Accept-Language: vi` (or any list preferring `vi`)
gives Vietnamese.
"""

from typing import Annotated, Literal, TypeAlias

from fastapi import Depends, Header

Language: TypeAlias = Literal["vi", "en"]
SUPPORTED: tuple[Language, ...] = ("en", "vi")


def preferred_language(accept_language: str | None) -> Language:
    """The supported language the header prefers most (RFC 9110 q-values); English by default."""
    best_quality, best = 0.0, "en"
    for part in (accept_language or "").split(","):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        # Strictly better only: of equal preferences, the first listed wins.
        if primary in SUPPORTED and quality > best_quality:
            best_quality, best = quality, primary
    return "vi" if best == "vi" else "en"


def _language(
    accept_language: Annotated[
        str | None,
        Header(
            description="`vi` for Vietnamese labels (indicator and class names), else English.",
            examples=["vi"],
        ),
    ] = None,
) -> Language:
    return preferred_language(accept_language)


LanguageDep = Annotated[Language, Depends(_language)]
