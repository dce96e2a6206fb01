"""One person in one household per round, without telling anyone where else a person is.

A survey listing a national ID that another household's survey of the round recorded first is
recorded all the same; the clash becomes a `NationalIdConflict` for the supervisors whose scope
covers both households, and the survey needs review. `claim_national_ids` takes a batch (a
request's survey, or an import's), and the unique key on the claims settles races: a writer that
loses it opens a conflict instead, so no clash is lost.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.conflict.models import NationalIdConflict
from households.conflict.schemas import Review, ReviewReason
from households.household.models import Assessment, Household, NationalIdClaim
from kit.auth import Caller
from kit.auth.scope import UnitColumns, in_scope
from kit.db import insert_for, table_of, utc_now
from kit.logging import current_actor

UNIT_FIELDS = ("province_code", "district_code", "commune_code")


def _columns(party: str) -> UnitColumns:
    province, district, commune = (getattr(NationalIdConflict, f"{party}_{f}") for f in UNIT_FIELDS)
    return province, district, commune


def id_hash(national_id: str) -> str:
    return hashlib.sha256(national_id.encode()).hexdigest()


def member_no(members: Iterable[Mapping[str, Any]], national_id_hash: str) -> int | None:
    """The 1-based number of the member with the ID in a stored survey, if it still lists it."""
    for number, member in enumerate(members, start=1):
        national_id = member.get("national_id")
        if national_id is not None and id_hash(national_id) == national_id_hash:
            return number
    return None


# Claims per statement: a conflict row binds 15 parameters, under SQLite's 32,766 per statement.
CHUNK = 2000


async def claim_national_ids(session: AsyncSession, claims: Sequence[Mapping[str, Any]]) -> None:
    """Claim each `{round_id, national_id, assessment_id}` (the assessments flushed); an ID
    another assessment holds opens a conflict between the two instead."""
    for start in range(0, len(claims), CHUNK):
        await _claim(session, claims[start : start + CHUNK])


async def _claim(session: AsyncSession, claims: Sequence[Mapping[str, Any]]) -> None:
    if not claims:
        return
    await session.exec(
        insert_for(session, table_of(NationalIdClaim)).values(list(claims)).on_conflict_do_nothing()
    )
    rounds = {claim["round_id"] for claim in claims}
    held = select(NationalIdClaim).where(
        col(NationalIdClaim.round_id).in_(rounds),
        col(NationalIdClaim.national_id).in_({claim["national_id"] for claim in claims}),
    )
    holders = {(c.round_id, c.national_id): c.assessment_id for c in await session.exec(held)}
    lost = [
        (holders[(claim["round_id"], claim["national_id"])], claim)
        for claim in claims
        if holders[(claim["round_id"], claim["national_id"])] != claim["assessment_id"]
    ]
    if not lost:
        return
    places = await _places(
        session, {id_ for pair in lost for id_ in (pair[0], pair[1]["assessment_id"])}
    )
    rows = [
        _conflict_row(
            claim["round_id"], id_hash(claim["national_id"]), holder, claim["assessment_id"], places
        )
        for holder, claim in lost
    ]
    await session.exec(
        insert_for(session, table_of(NationalIdConflict)).values(rows).on_conflict_do_nothing()
    )


async def release(session: AsyncSession, assessment: Assessment) -> None:
    """After an assessment's survey was replaced (`assessment.members` is the new roster): what
    it no longer lists it lets go. Its open conflicts as the claimant over such an ID are
    withdrawn; an ID it held passes to the earliest open claimant (that conflict is settled: the
    holder's survey no longer lists the person). What it still lists stays as it was."""
    still_listed = {m["national_id"] for m in assessment.members if m.get("national_id")}
    dropped = select(NationalIdConflict).where(
        NationalIdConflict.claimant_id == assessment.id,
        col(NationalIdConflict.resolved_at).is_(None),
    )
    listed_hashes = {id_hash(national_id) for national_id in still_listed}
    for conflict in (await session.exec(dropped)).all():
        if conflict.national_id_hash not in listed_hashes:
            await session.delete(conflict)
    own = await session.exec(
        select(NationalIdClaim).where(NationalIdClaim.assessment_id == assessment.id)
    )
    for claim in own.all():
        if claim.national_id not in still_listed:
            await _hand_over(session, claim)
    await session.flush()


async def _hand_over(session: AsyncSession, claim: NationalIdClaim) -> None:
    hashed = id_hash(claim.national_id)
    waiting = select(NationalIdConflict).where(
        NationalIdConflict.holder_id == claim.assessment_id,
        NationalIdConflict.national_id_hash == hashed,
        col(NationalIdConflict.resolved_at).is_(None),
    )
    first = (
        await session.exec(waiting.order_by(col(NationalIdConflict.opened_at)).limit(1))
    ).first()
    if first is None:
        await session.delete(claim)
        return
    await _move_claim(session, claim, first.claimant_id)
    await session.delete(first)


async def _move_claim(session: AsyncSession, claim: NationalIdClaim, to: UUID) -> None:
    """The claim passes to another assessment; the conflicts it held move with it."""
    hashed, source = id_hash(claim.national_id), claim.assessment_id
    claim.assessment_id = to
    places = await _places(session, {to})
    household_id, path = places[to]
    await session.exec(
        update(NationalIdConflict)
        .where(
            col(NationalIdConflict.holder_id) == source,
            col(NationalIdConflict.national_id_hash) == hashed,
            col(NationalIdConflict.claimant_id) != to,
        )
        .values(
            holder_id=to,
            holder_household_id=household_id,
            holder_province_code=path[0],
            holder_district_code=path[1],
            holder_commune_code=path[2],
        )
    )


async def household_moved(session: AsyncSession, household: Household) -> None:
    """Keep the units of a household's conflicts those of its commune, for the scope checks."""
    unit = (household.province_code, household.district_code, household.commune_code)
    for party in ("holder", "claimant"):
        household_column = getattr(NationalIdConflict, f"{party}_household_id")
        await session.exec(
            update(NationalIdConflict)
            .where(household_column == household.id)
            .values(
                {f"{party}_{field}": code for field, code in zip(UNIT_FIELDS, unit, strict=True)}
            )
        )


def covering(caller: Caller) -> Any:
    """Conflicts whose two households both lie in the caller's scope."""
    return and_(in_scope(caller, _columns("holder")), in_scope(caller, _columns("claimant")))


async def search(
    session: AsyncSession,
    caller: Caller,
    *,
    round_id: UUID | None,
    open_only: bool,
    offset: int,
    limit: int,
) -> tuple[Sequence[NationalIdConflict], int]:
    statement = select(NationalIdConflict).where(covering(caller))
    if round_id is not None:
        statement = statement.where(NationalIdConflict.round_id == round_id)
    if open_only:
        statement = statement.where(col(NationalIdConflict.resolved_at).is_(None))
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    page = statement.order_by(col(NationalIdConflict.opened_at), col(NationalIdConflict.id))
    return (await session.exec(page.offset(offset).limit(limit))).all(), total


async def get(
    session: AsyncSession, caller: Caller, conflict_id: UUID
) -> NationalIdConflict | None:
    statement = select(NationalIdConflict).where(
        NationalIdConflict.id == conflict_id, covering(caller)
    )
    return (await session.exec(statement.with_for_update())).one_or_none()


async def resolve(
    session: AsyncSession, conflict: NationalIdConflict, kept_household_id: UUID
) -> None:
    """Record which household keeps the person (a later decision replaces an earlier one). The
    claim goes to the kept household's survey; the other survey must be corrected."""
    if kept_household_id == conflict.claimant_household_id:
        held = await session.exec(
            select(NationalIdClaim).where(NationalIdClaim.assessment_id == conflict.holder_id)
        )
        for claim in held:
            if id_hash(claim.national_id) == conflict.national_id_hash:
                await _move_claim(session, claim, conflict.claimant_id)
                _swap_parties(conflict)
    conflict.kept_household_id = kept_household_id
    conflict.resolved_at = utc_now()
    conflict.resolved_by = current_actor() or "unknown"
    # One entry per household, in its own unit's log: it names that household only, since each
    # commune's officers read their own log and the other household may lie outside their scope.
    for household_id, unit in (
        (conflict.holder_household_id, _unit(conflict, "holder")),
        (conflict.claimant_household_id, _unit(conflict, "claimant")),
    ):
        audit.record(
            session,
            "conflict.resolved",
            unit=unit,
            household_id=household_id,
            changes={
                "conflict_id": str(conflict.id),
                "round_id": str(conflict.round_id),
                "keeps_the_person": household_id == kept_household_id,
            },
        )
    await session.flush()


async def reviews(session: AsyncSession, assessments: Sequence[Assessment]) -> dict[UUID, Review]:
    """Why each of these surveys needs review, for those that do: a member whose ID is in an
    open conflict, or whose person supervisors gave to the other household."""
    by_id = {assessment.id: assessment for assessment in assessments}
    if not by_id:
        return {}
    involved = select(NationalIdConflict).where(
        or_(
            col(NationalIdConflict.holder_id).in_(by_id),
            col(NationalIdConflict.claimant_id).in_(by_id),
        )
    )
    reasons: dict[UUID, list[ReviewReason]] = {}
    for conflict in await session.exec(involved):
        for assessment_id, household_id in (
            (conflict.holder_id, conflict.holder_household_id),
            (conflict.claimant_id, conflict.claimant_household_id),
        ):
            assessment = by_id.get(assessment_id)
            if assessment is None:
                continue
            number = member_no(assessment.members, conflict.national_id_hash)
            if number is None:
                continue
            if conflict.resolved_at is None:
                msg = (
                    "recorded for another household in this round: supervisors will decide "
                    "which household this person belongs to"
                )
            elif conflict.kept_household_id != household_id:
                msg = (
                    "supervisors decided this person belongs to another household: correct "
                    "the survey"
                )
            else:
                continue
            loc: list[str | int] = ["members", number - 1, "national_id"]
            reasons.setdefault(assessment_id, []).append(ReviewReason(loc=loc, msg=msg))
    return {
        id_: Review(reasons=sorted(r, key=lambda reason: str(reason.loc)))
        for id_, r in reasons.items()
    }


async def _places(
    session: AsyncSession, assessment_ids: set[UUID]
) -> dict[UUID, tuple[UUID, tuple[str, str, str]]]:
    """Each assessment's household and that household's units."""
    statement = (
        select(Assessment.id, Household)
        .join(Household, col(Household.id) == col(Assessment.household_id))
        .where(col(Assessment.id).in_(assessment_ids))
    )
    return {
        assessment_id: (
            household.id,
            (household.province_code, household.district_code, household.commune_code),
        )
        for assessment_id, household in await session.exec(statement)
    }


def _conflict_row(
    round_id: UUID,
    hashed: str,
    holder: UUID,
    claimant: UUID,
    places: Mapping[UUID, tuple[UUID, tuple[str, str, str]]],
) -> dict[str, Any]:
    (holder_household, holder_path), (claimant_household, claimant_path) = (
        places[holder],
        places[claimant],
    )
    return {
        "id": uuid4(),
        "round_id": round_id,
        "national_id_hash": hashed,
        "holder_id": holder,
        "claimant_id": claimant,
        "holder_household_id": holder_household,
        "claimant_household_id": claimant_household,
        "holder_province_code": holder_path[0],
        "holder_district_code": holder_path[1],
        "holder_commune_code": holder_path[2],
        "claimant_province_code": claimant_path[0],
        "claimant_district_code": claimant_path[1],
        "claimant_commune_code": claimant_path[2],
        "opened_at": utc_now(),
    }


def _swap_parties(conflict: NationalIdConflict) -> None:
    """The holder is whoever holds the claim: after it moved, the two parties change places."""
    for field in ("id", "household_id", *UNIT_FIELDS):
        holder, claimant = (
            getattr(conflict, f"holder_{field}"),
            getattr(conflict, f"claimant_{field}"),
        )
        setattr(conflict, f"holder_{field}", claimant)
        setattr(conflict, f"claimant_{field}", holder)


def _unit(conflict: NationalIdConflict, party: str) -> tuple[str, str, str]:
    province, district, commune = (getattr(conflict, f"{party}_{f}") for f in UNIT_FIELDS)
    return province, district, commune
