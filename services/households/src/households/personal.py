"""Personal data (names, addresses, national ID numbers, birth dates; digital team members'
names, phones and e-mails; the free-text notes of support records) and its masking.

Roles that supervise or analyse rather than enter surveys read households with these fields
replaced, so what they see cannot name a family; `Permission.PERSONAL_DATA_READ` lifts it.
"""

from typing import Any

from households.digital_team.schemas import TeamMemberRead
from households.household.schemas import AssessmentRead, HouseholdRead
from households.support.schemas import SupportRead
from kit.auth import Caller, Permission

MASK = "***"
HOUSEHOLD_FIELDS = ("head_name", "address")
MEMBER_FIELDS = ("full_name", "national_id", "birth_date")
TEAM_MEMBER_FIELDS = ("full_name", "phone", "email")
# A note about a family's visit may say anything about it.
SUPPORT_FIELDS = ("note",)
# Audit entries hold whole member lists under this field.
MEMBERS = "members"


def household_for(caller: Caller, household: object) -> HouseholdRead:
    read = HouseholdRead.model_validate(household, from_attributes=True)
    if caller.can(Permission.PERSONAL_DATA_READ):
        return read
    hidden = {field: MASK for field in HOUSEHOLD_FIELDS if getattr(read, field) is not None}
    return read.model_copy(update=hidden | {"personal_data_masked": True})


def assessment_for(caller: Caller, assessment: object) -> AssessmentRead:
    read = AssessmentRead.model_validate(assessment, from_attributes=True)
    if caller.can(Permission.PERSONAL_DATA_READ):
        return read
    members = [
        member.model_copy(
            update={"full_name": MASK, "birth_date": None}
            | ({"national_id": MASK} if member.national_id is not None else {})
        )
        for member in read.members
    ]
    return read.model_copy(update={"members": members, "personal_data_masked": True})


def team_member_for(caller: Caller, member: object) -> TeamMemberRead:
    read = TeamMemberRead.model_validate(member, from_attributes=True)
    if caller.can(Permission.PERSONAL_DATA_READ):
        return read
    hidden = {field: MASK for field in TEAM_MEMBER_FIELDS if getattr(read, field) is not None}
    return read.model_copy(update=hidden | {"personal_data_masked": True})


def support_for(caller: Caller, record: object, household_code: str) -> SupportRead:
    read = SupportRead.model_validate(record, from_attributes=True).model_copy(
        update={"household_code": household_code}
    )
    if caller.can(Permission.PERSONAL_DATA_READ):
        return read
    hidden = {field: MASK for field in SUPPORT_FIELDS if getattr(read, field) is not None}
    return read.model_copy(update=hidden | {"personal_data_masked": True})


def changes_for(caller: Caller, changes: dict[str, Any]) -> dict[str, Any]:
    """An audit entry's changes, personal values replaced unless the caller may read them."""
    if caller.can(Permission.PERSONAL_DATA_READ):
        return changes
    return {
        field: ({side: MASK for side in value} if field in _AUDITED_PERSONAL else value)
        for field, value in changes.items()
    }


# Audit entries name changed fields at their top level, each with its old and new value.
_AUDITED_PERSONAL = frozenset((*HOUSEHOLD_FIELDS, MEMBERS, *TEAM_MEMBER_FIELDS, *SUPPORT_FIELDS))
