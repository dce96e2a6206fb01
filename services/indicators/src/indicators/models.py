"""Every table of the indicators service, imported so that its metadata is complete (Alembic)."""

from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.db import Base
from indicators.figures.models import PopulationCopy, RoundRef, UnitFigure, UnitRef
from indicators.recalculation.models import RecalculationJob, RoundLock

metadata = Base.metadata

__all__ = [
    "AssessmentCopy",
    "HouseholdClassification",
    "PopulationCopy",
    "RecalculationJob",
    "RoundLock",
    "RoundRef",
    "UnitFigure",
    "UnitRef",
    "metadata",
]
