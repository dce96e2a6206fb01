"""Every table of the households service, imported so that its metadata is complete (Alembic)."""

from households.audit.models import AuditEntry
from households.conflict.models import NationalIdConflict
from households.db import Base
from households.digital_team.models import DigitalTeam, TeamMember
from households.household.models import Assessment, Household, NationalIdClaim
from households.imports.models import ImportJob, ImportRowError
from households.population.models import UnitPopulation
from households.review.models import (
    CommuneReview,
    MeetingAgreement,
    PostingObjection,
    ProvinceApproval,
    ReviewStep,
    VillageMeeting,
)
from households.round.models import ReviewRound
from households.support.models import SupportRecord
from households.unit.models import AdminUnit

metadata = Base.metadata

__all__ = [
    "AdminUnit",
    "Assessment",
    "AuditEntry",
    "CommuneReview",
    "DigitalTeam",
    "Household",
    "ImportJob",
    "ImportRowError",
    "MeetingAgreement",
    "NationalIdClaim",
    "NationalIdConflict",
    "PostingObjection",
    "ProvinceApproval",
    "ReviewRound",
    "ReviewStep",
    "SupportRecord",
    "TeamMember",
    "UnitPopulation",
    "VillageMeeting",
    "metadata",
]
