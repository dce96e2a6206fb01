from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from kit.fields import UtcDatetime


class AuditEntryRead(BaseModel):
    id: int = Field(description="The entry's number, rising with time.")
    at: UtcDatetime = Field(description="When the change was made (UTC).")
    actor: str = Field(
        description="Who made it: `user:<username>`, `api-key:<id>` or `system:<process>`."
    )
    action: str = Field(
        description="What was done, e.g. `household.registered`, `assessment.recorded`."
    )
    household_id: UUID | None = Field(description="The household changed, if a household was.")
    province_code: str | None = Field(description="The province of the unit changed.")
    district_code: str | None = Field(
        description="Its district, on maps before 1 July 2025; null after."
    )
    commune_code: str | None = Field(description="Its commune.")
    changes: dict[str, Any] = Field(
        description=(
            "The fields changed: new values, or `{old, new}` pairs; personal data "
            "masked for roles without it."
        )
    )
    request_id: str | None = Field(
        description="The request that made it (`X-Request-ID`), to find it in the logs."
    )


class AuditEntryList(BaseModel):
    items: list[AuditEntryRead] = Field(
        description="This page's audit entries, in the list's stable order."
    )
    total: int = Field(description="How many audit entries match, over all pages.")
    offset: int = Field(description="Items skipped before this page.")
    limit: int = Field(description="The most items a page holds, as asked.")
