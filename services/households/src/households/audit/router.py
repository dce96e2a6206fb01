from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from households.audit import service as audit_service
from households.audit.models import AuditEntry
from households.audit.schemas import AuditEntryList, AuditEntryRead
from households.personal import changes_for
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import PROBLEM_RESPONSES
from kit.fields import Instant, Offset

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
AuditReader = Annotated[Caller, requires(Permission.AUDIT_READ)]


@router.get("", response_model=AuditEntryList)
async def list_audit_entries(
    caller: AuditReader,
    session: SessionDep,
    household_id: UUID | None = None,
    unit_code: Annotated[str | None, Query(pattern=r"^([0-9]{2}|[0-9]{3}|[0-9]{5})$")] = None,
    actor: Annotated[
        str | None,
        Query(
            max_length=120,
            description="Only changes by this actor (`user:<username>`, `api-key:<id>`).",
        ),
    ] = None,
    since: Annotated[Instant | None, Query(description="From this instant, inclusive.")] = None,
    until: Annotated[Instant | None, Query(description="Before this instant.")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditEntryList:
    """Who changed or listed what, newest first, within the caller's scope: by household, unit,
    actor and time. Personal values are masked for roles that may not read them."""
    items, total = await audit_service.search(
        session,
        caller,
        household_id=household_id,
        unit_code=unit_code,
        actor=actor,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    entries = [AuditEntryRead.model_validate(item, from_attributes=True) for item in items]
    return AuditEntryList(
        items=[
            entry.model_copy(update={"changes": changes_for(caller, entry.changes)})
            for entry in entries
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def _entry_for(caller: Caller, entry: AuditEntry) -> AuditEntryRead:
    read = AuditEntryRead.model_validate(entry, from_attributes=True)
    return read.model_copy(update={"changes": changes_for(caller, read.changes)})
