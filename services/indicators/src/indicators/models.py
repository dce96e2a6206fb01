"""Every table of the indicators service, imported so that its metadata is complete (Alembic)."""

from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.context.models import ContextValue
from indicators.db import Base
from indicators.facts.models import AssessmentFacts, MemberFact
from indicators.figures.models import PopulationCopy, RoundRef, UnitFigure, UnitRef
from indicators.left_behind.models import LeftBehindHousehold, SupportCopy
from indicators.recalculation.models import RecalculationJob, RoundLock
from indicators.reports.models import ReportJob
from indicators.restatement.models import HouseholdUnitCopy, UnitSuccessionCopy
from indicators.review.models import CommuneReviewCopy, ProvinceApprovalCopy
from indicators.targets.models import Target
from indicators.what_if.models import WhatIfJob

metadata = Base.metadata

__all__ = [
    "AssessmentCopy",
    "AssessmentFacts",
    "CommuneReviewCopy",
    "ContextValue",
    "HouseholdClassification",
    "HouseholdUnitCopy",
    "LeftBehindHousehold",
    "MemberFact",
    "PopulationCopy",
    "ProvinceApprovalCopy",
    "RecalculationJob",
    "ReportJob",
    "RoundLock",
    "RoundRef",
    "SupportCopy",
    "Target",
    "UnitFigure",
    "UnitRef",
    "UnitSuccessionCopy",
    "WhatIfJob",
    "metadata",
]
