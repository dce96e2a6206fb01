from typing import Any
from uuid import UUID

from pydantic import BaseModel

from kit.fields import UtcDatetime


class AuditEntryRead(BaseModel):
    id: int
    at: UtcDatetime
    actor: str
    action: str
    household_id: UUID | None
    province_code: str | None
    district_code: str | None
    commune_code: str | None
    changes: dict[str, Any]
    request_id: str | None


class AuditEntryList(BaseModel):
    items: list[AuditEntryRead]
    total: int
    offset: int
    limit: int
