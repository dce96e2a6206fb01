"""Names of classes, indicators and dimensions in the language a caller asks for
(`Accept-Language`, `kit.language`): indicator and dimension names are the standard's data."""

from indicators.classification.schemas import HouseholdClass
from indicators.figures.schemas import UnitFigures
from indicators.standard.service import get_standard
from kit.language import Language

CLASS_NAMES: dict[HouseholdClass, dict[Language, str]] = {
    HouseholdClass.poor: {"vi": "Hộ nghèo", "en": "Poor household"},
    HouseholdClass.near_poor: {"vi": "Hộ cận nghèo", "en": "Near-poor household"},
    HouseholdClass.average: {
        "vi": "Hộ có mức sống trung bình",
        "en": "Household of average living standard",
    },
    HouseholdClass.not_poor: {"vi": "Hộ không nghèo", "en": "Household not poor"},
}


def class_name(household_class: HouseholdClass, language: Language) -> str:
    return CLASS_NAMES[household_class][language]


def indicator_names(standard_id: str, language: Language) -> dict[str, str]:
    """Every indicator's name under the standard, by key."""
    standard = get_standard(standard_id)
    return {indicator.key: getattr(indicator.name, language) for indicator in standard.indicators}


def dimension_names(standard_id: str, language: Language) -> dict[str, str]:
    standard = get_standard(standard_id)
    return {dimension.key: getattr(dimension.name, language) for dimension in standard.dimensions}


def figures_in(figures: UnitFigures, language: Language) -> UnitFigures:
    """`figures` with the names of its indicators and dimensions in `language`."""
    indicators = indicator_names(figures.standard_id, language)
    dimensions = dimension_names(figures.standard_id, language)
    deprivation = {
        name: counts.model_copy(
            update={
                "indicators": [
                    row.model_copy(update={"name": indicators.get(row.key, row.name)})
                    for row in counts.indicators
                ],
                "dimensions": [
                    row.model_copy(update={"name": dimensions.get(row.key, row.name)})
                    for row in counts.dimensions
                ],
            }
        )
        for name, counts in figures.deprivation.items()
    }
    return figures.model_copy(update={"deprivation": deprivation})
