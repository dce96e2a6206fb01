"""Every table of the indicators service, imported so that its metadata is complete (Alembic)."""

from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.db import Base
from indicators.facts.models import AssessmentFacts, MemberFact
from indicators.figures.models import PopulationCopy, RoundRef, UnitFigure, UnitRef
from indicators.recalculation.models import RecalculationJob, RoundLock
from indicators.restatement.models import HouseholdUnitCopy, UnitSuccessionCopy
from indicators.review.models import CommuneReviewCopy, ProvinceApprovalCopy

metadata = Base.metadata

__all__ = [
    "AssessmentCopy",
    "AssessmentFacts",
    "CommuneReviewCopy",
    "HouseholdClassification",
    "HouseholdUnitCopy",
    "MemberFact",
    "PopulationCopy",
    "ProvinceApprovalCopy",
    "RecalculationJob",
    "RoundLock",
    "RoundRef",
    "UnitFigure",
    "UnitRef",
    "UnitSuccessionCopy",
    "metadata",
]
