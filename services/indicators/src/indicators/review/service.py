"""Approved or provisional: the review state of each commune of a round, and province approvals.

A commune's figures are approved when its review is; a district's when every commune under it
with surveyed households is; a province's when the province approved the round (which needs
every commune approved) and no commune was reopened since. Figures restated onto a later map
are approved when every as-reported commune whose households they count is.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.review.models import CommuneReviewCopy, ProvinceApprovalCopy
from kit.contracts import Envelope
from kit.contracts.households import (
    ProvinceApprovedV1,
    ReviewReopenedV1,
    ReviewState,
    ReviewStepChangedV1,
)
from kit.db import insert_for, table_of


class Status(StrEnum):
    approved = "approved"
    provisional = "provisional"


@dataclass(frozen=True)
class Approval:
    status: Status
    approved_communes: int
    communes: int


async def record_step(
    session: AsyncSession, envelope: Envelope, event: ReviewStepChangedV1 | ReviewReopenedV1
) -> None:
    """Keep the commune review's newest state (by its version); a reopening after a province
    approval withdraws it."""
    table = table_of(CommuneReviewCopy)
    statement = insert_for(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["round_id", "commune_code"],
        set_={"state": statement.excluded.state, "version": statement.excluded.version},
        where=table.c.version < statement.excluded.version,
    )
    row = {
        "round_id": event.round_id,
        "commune_code": event.commune_code,
        "province_code": event.province_code,
        "state": event.to_state.value,
        "version": event.version,
    }
    await session.exec(statement, params=[row])
    if isinstance(event, ReviewReopenedV1) and event.province_approval_withdrawn:
        approval = await _approval(session, event.round_id, event.province_code)
        if approval.withdrawn_at is None or approval.withdrawn_at < event.at:
            approval.withdrawn_at = event.at


async def record_province_approval(
    session: AsyncSession, envelope: Envelope, event: ProvinceApprovedV1
) -> None:
    approval = await _approval(session, event.round_id, event.province_code)
    if approval.approved_at is None or approval.approved_at < event.at:
        approval.approved_at = event.at


async def _approval(session: AsyncSession, round_id: UUID, province: str) -> ProvinceApprovalCopy:
    approval = await session.get(ProvinceApprovalCopy, (round_id, province), with_for_update=True)
    if approval is None:
        approval = ProvinceApprovalCopy(round_id=round_id, province_code=province)
        session.add(approval)
    return approval


async def approved_communes(
    session: AsyncSession, round_id: UUID, communes: Collection[str]
) -> set[str]:
    """Those of the round's communes whose review is approved."""
    if not communes:
        return set()
    statement = select(CommuneReviewCopy.commune_code).where(
        CommuneReviewCopy.round_id == round_id,
        col(CommuneReviewCopy.commune_code).in_(communes),
        CommuneReviewCopy.state == ReviewState.approved.value,
    )
    return set((await session.exec(statement)).all())


async def province_approved(session: AsyncSession, round_id: UUID, province: str) -> bool:
    approval = await session.get(ProvinceApprovalCopy, (round_id, province))
    return (
        approval is not None
        and approval.approved_at is not None
        and (approval.withdrawn_at is None or approval.withdrawn_at < approval.approved_at)
    )


def approval(
    communes: Collection[str], approved: Collection[str], *, by_province: bool | None = None
) -> Approval:
    """The status of a unit with these surveyed communes; `by_province` decides for a province."""
    count = len(set(communes) & set(approved))
    if by_province is not None:
        done = by_province
    else:
        done = bool(communes) and count == len(communes)
    return Approval(Status.approved if done else Status.provisional, count, len(communes))


def approvals(
    units: Mapping[str, Collection[str]], approved: Collection[str]
) -> dict[str, Approval]:
    return {unit: approval(communes, approved) for unit, communes in units.items()}
