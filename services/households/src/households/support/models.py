"""Support given to a household by a member of its commune's digital team
(docs/digital-inclusion.md).

A record is never changed: one entered in error is withdrawn (with the reason, who and when), and
stays in the table so that the audit log and the published events keep meaning something.
"""

from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import ForeignKey, Index
from sqlmodel import Column, Field

from households.db import Base, stored_as_value
from kit.contracts.households import Device, SupportKind
from kit.db import UtcDateTime, utc_now


class SupportRecord(Base, table=True):
    __tablename__ = "support_record"
    __table_args__ = (Index("ix_support_record_commune_given_on", "commune_code", "given_on"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    household_id: UUID = Field(
        sa_column=Column(ForeignKey("household.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # The household's units when the support was recorded: the scope of every read.
    commune_code: str = Field(max_length=5)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=3)
    kind: SupportKind = Field(sa_type=stored_as_value(SupportKind, 32))
    device: Device | None = Field(default=None, sa_type=stored_as_value(Device, 32))
    subscription_months: int | None = None
    given_on: date
    team_id: UUID = Field(sa_column=Column(ForeignKey("digital_team.id"), nullable=False))
    member_id: UUID = Field(
        sa_column=Column(ForeignKey("digital_team_member.id"), nullable=False, index=True)
    )
    note: str | None = Field(default=None, max_length=1000)
    # The batch whose `households.support.recorded.v1` message carried it (`support:<batch_id>`).
    batch_id: UUID
    import_id: UUID | None = None
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    withdrawn_by: str | None = Field(default=None, max_length=200)
    withdrawal_reason: str | None = Field(default=None, max_length=1000)
