"""A commune's review in a round (DOMAIN §6, docs/review-round.md).

The review moves `open → surveyed → posted → approved` by the steps of `STEPS`, each needing a
permission and passing its precondition (`PRECONDITIONS`); only an admin's reopening leaves
`approved`. Every step is kept (`ReviewStep`), audited and published. While a commune's review is
approved its data in the round is read-only: every write path calls `ensure_writable`.
"""

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit import service as audit
from households.db import outbox
from households.household.models import Assessment, Household
from households.personal import MASK
from households.review.exceptions import (
    ConcurrentStep,
    ObjectionNotFound,
    ReadOnly,
    StepNotAllowed,
    WrongState,
)
from households.review.models import (
    CommuneReview,
    MeetingAgreement,
    PostingObjection,
    ProvinceApproval,
    ReviewStep,
    VillageMeeting,
)
from households.review.schemas import (
    AgreementRead,
    CommuneReviewRead,
    CommuneState,
    HouseholdRef,
    MeetingInput,
    MeetingList,
    MeetingRead,
    ObjectionInput,
    ObjectionList,
    ObjectionRead,
    ProvinceApprovalRead,
    RecheckInput,
    ReopenInput,
    StepInput,
    StepRead,
)
from households.round.models import ReviewRound, RoundKind
from households.unit.models import AdminUnit, UnitLevel
from kit.auth import Caller, Permission
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    ProvinceApprovedV1,
    ReviewReopenedV1,
    ReviewState,
    ReviewStepChangedV1,
)
from kit.db import utc_now
from kit.errors import Conflict, FieldError, Forbidden, InvalidInput
from kit.logging import current_actor, current_request_id
from kit.messaging import stage

# Posting periods and meeting dates are the commune's calendar days.
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
# How many households a refusal names before it only counts the rest.
NAMED = 5

STEPS: dict[tuple[ReviewState, ReviewState], Permission] = {
    (ReviewState.open, ReviewState.surveyed): Permission.REVIEWS_ADVANCE,
    (ReviewState.surveyed, ReviewState.posted): Permission.REVIEWS_ADVANCE,
    (ReviewState.posted, ReviewState.approved): Permission.REVIEWS_RECOGNISE,
}
"""Every step a commune's review may take, and the permission it needs. Reopening is not a step."""

REOPENED_TO = ReviewState.surveyed
"""Where reopening takes an approved review: the corrected lists go through posting again."""


def next_states(state: ReviewState) -> list[ReviewState]:
    return [to for (start, to) in STEPS if start is state]


@dataclass(frozen=True)
class Rules:
    """The review's rules that a decree sets (the service's settings)."""

    min_agreement_percent: int


# --- Reading ------------------------------------------------------------------------------------


async def get(session: AsyncSession, round_id: UUID, commune_code: str) -> CommuneReview | None:
    return await session.get(CommuneReview, (round_id, commune_code))


async def read(
    session: AsyncSession, review_round: ReviewRound, commune: AdminUnit
) -> CommuneReviewRead:
    """The commune's review with its whole history (`open` and no history before any step)."""
    review = await get(session, review_round.id, commune.code)
    history = select(ReviewStep).where(
        ReviewStep.round_id == review_round.id, ReviewStep.commune_code == commune.code
    )
    steps = (await session.exec(history.order_by(col(ReviewStep.id)))).all()
    state = review.state if review else ReviewState.open
    return CommuneReviewRead(
        round_id=review_round.id,
        commune_code=commune.code,
        state=state,
        version=review.version if review else 0,
        next_states=next_states(state),
        posting_from=review.posting_from if review else None,
        posting_until=review.posting_until if review else None,
        history=[StepRead.model_validate(step, from_attributes=True) for step in steps],
    )


# --- The read-only rule -------------------------------------------------------------------------


async def ensure_writable(session: AsyncSession, round_id: UUID, commune_code: str) -> None:
    """Refuse (409, naming the state) a write to a commune's data in a round whose review is
    approved. The review's row stays share-locked until the transaction ends, so an approval
    waits for a write already under way instead of approving data that is still changing."""
    if commune_code in await read_only_communes(session, round_id, [commune_code]):
        raise ReadOnly(commune_code)


async def read_only_communes(
    session: AsyncSession, round_id: UUID, commune_codes: Collection[str]
) -> dict[str, str]:
    """Of `commune_codes`, those whose data in the round is read-only, each with the refusal (for
    writers of many rows, such as the bulk import); share-locked as `ensure_writable` does."""
    if not commune_codes:
        return {}
    statement = select(CommuneReview.commune_code, CommuneReview.state).where(
        CommuneReview.round_id == round_id, col(CommuneReview.commune_code).in_(commune_codes)
    )
    rows = (await session.exec(statement.with_for_update(read=True))).all()
    return {code: ReadOnly(code).detail for code, state in rows if state is ReviewState.approved}


# --- Steps --------------------------------------------------------------------------------------


async def move(
    session: AsyncSession,
    review_round: ReviewRound,
    commune: AdminUnit,
    step_in: StepInput,
    caller: Caller,
    rules: Rules,
) -> CommuneReviewRead:
    """Move the commune's review one step, if the machine allows it and its precondition holds."""
    review = await _locked(session, review_round, commune)
    allowed = next_states(review.state)
    if step_in.to not in allowed:
        raise StepNotAllowed(review.state, step_in.to, allowed)
    permission = STEPS[(review.state, step_in.to)]
    if not caller.can(permission):
        raise Forbidden(
            f"The role {caller.role.value} does not allow {permission.value} "
            f"({review.state.value} → {step_in.to.value})."
        )
    await PRECONDITIONS[step_in.to](session, review, step_in, rules)
    if step_in.to is ReviewState.posted:
        review.posting_from, review.posting_until = step_in.posting_from, step_in.posting_until
    before = review.state
    step = _advance(session, review, step_in.to, caller, note=step_in.note)
    await session.flush()
    event = ReviewStepChangedV1(
        round_id=review.round_id,
        commune_code=review.commune_code,
        province_code=review.province_code,
        unit_path=_path(review),
        from_state=before,
        to_state=review.state,
        actor=step.actor,
        at=step.at,
        version=review.version,
        # The posting's own days (its length is the commune's to set): what reminders go by.
        posting_from=review.posting_from if review.state is ReviewState.posted else None,
        posting_until=review.posting_until if review.state is ReviewState.posted else None,
    )
    await stage(session, outbox, _envelope(event, review))
    audit.record(
        session,
        "review.step_changed",
        unit=_unit(review),
        changes={
            "state": {"old": before.value, "new": review.state.value},
            "round_id": str(review.round_id),
        },
    )
    return await read(session, review_round, commune)


async def reopen(
    session: AsyncSession,
    review_round: ReviewRound,
    commune: AdminUnit,
    reopen_in: ReopenInput,
    caller: Caller,
) -> CommuneReviewRead:
    """Reopen an approved review (an admin's act, with its reason): back to `REOPENED_TO`, and
    the province's approval of the round, if given, withdrawn."""
    review = await _locked(session, review_round, commune)
    if review.state is not ReviewState.approved:
        raise WrongState("an admin reopens a review", review.state, [ReviewState.approved])
    approval = await session.get(
        ProvinceApproval, (review.round_id, review.province_code), with_for_update=True
    )
    withdrawn = approval is not None and approval.approved
    if approval is not None and withdrawn:
        approval.approved = False
        approval.version += 1
    step = _advance(session, review, REOPENED_TO, caller, note=reopen_in.reason, reopened=True)
    await session.flush()
    event = ReviewReopenedV1(
        round_id=review.round_id,
        commune_code=review.commune_code,
        province_code=review.province_code,
        unit_path=_path(review),
        from_state=ReviewState.approved,
        to_state=review.state,
        actor=step.actor,
        at=step.at,
        reason=reopen_in.reason,
        province_approval_withdrawn=withdrawn,
        version=review.version,
    )
    await stage(session, outbox, _envelope(event, review))
    audit.record(
        session,
        "review.reopened",
        unit=_unit(review),
        changes={
            "state": {"old": ReviewState.approved.value, "new": review.state.value},
            "reason": reopen_in.reason,
            "round_id": str(review.round_id),
            "province_approval_withdrawn": withdrawn,
        },
    )
    return await read(session, review_round, commune)


async def _locked(
    session: AsyncSession, review_round: ReviewRound, commune: AdminUnit
) -> CommuneReview:
    """The commune's review, locked until the transaction ends: of two concurrent moves, the
    second sees what the first did. A commune never moved gets its `open` row now."""
    statement = select(CommuneReview).where(
        CommuneReview.round_id == review_round.id, CommuneReview.commune_code == commune.code
    )
    review = (await session.exec(statement.with_for_update())).one_or_none()
    if review is not None:
        return review
    review = CommuneReview(
        round_id=review_round.id,
        commune_code=commune.code,
        province_code=commune.province_code,
        district_code=commune.district_code or "",
        state=ReviewState.open,
    )
    session.add(review)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent first move of the same commune won
        raise ConcurrentStep() from error
    return review


def _advance(
    session: AsyncSession,
    review: CommuneReview,
    to: ReviewState,
    caller: Caller,
    *,
    note: str | None,
    reopened: bool = False,
) -> ReviewStep:
    step = ReviewStep(
        round_id=review.round_id,
        commune_code=review.commune_code,
        from_state=review.state,
        to_state=to,
        reopened=reopened,
        actor=caller.subject[:120],
        note=note,
    )
    session.add(step)
    review.state = to
    review.version += 1
    review.updated_at = step.at
    return step


# --- Preconditions of each step -----------------------------------------------------------------


async def _surveyed(
    session: AsyncSession, review: CommuneReview, step_in: StepInput, rules: Rules
) -> None:
    surveys = select(func.count()).where(
        Assessment.round_id == review.round_id, Assessment.commune_code == review.commune_code
    )
    if not (await session.exec(surveys)).one():
        raise Conflict(
            f"No household of commune {review.commune_code} has a survey in this round yet: "
            "survey them before marking the commune surveyed."
        )


async def _posted(
    session: AsyncSession, review: CommuneReview, step_in: StepInput, rules: Rules
) -> None:
    missing = [
        FieldError(loc=["body", name], msg="required to move to posted")
        for name in ("posting_from", "posting_until")
        if getattr(step_in, name) is None
    ]
    if missing:
        raise InvalidInput("The public posting's first and last days are required.", errors=missing)
    needs_resurvey, not_discussed = await _meeting_findings(
        session, review.round_id, review.commune_code, rules
    )
    problems = []
    if not_discussed:
        problems.append(f"no village meeting has discussed {_households(not_discussed)}")
    if needs_resurvey:
        problems.append(
            f"{_households(needs_resurvey)} had less than {rules.min_agreement_percent}% "
            "agreement at their meeting and have not been re-surveyed since"
        )
    if problems:
        raise Conflict(f"The lists cannot be posted: {'; '.join(problems)}.")


async def _approved(
    session: AsyncSession, review: CommuneReview, step_in: StepInput, rules: Rules
) -> None:
    until = review.posting_until
    assert until is not None  # set by the step to `posted`
    if until >= today():
        raise Conflict(
            f"The public posting runs until {until}: the commune may recognise its lists from "
            f"{until + timedelta(days=1)}."
        )
    unchecked = await _open_objections(session, review)
    if unchecked:
        raise Conflict(
            f"{unchecked} objection(s) lodged during the posting are not re-checked yet: "
            "re-check each before recognising the lists."
        )


Precondition = Callable[[AsyncSession, CommuneReview, StepInput, Rules], Awaitable[None]]
PRECONDITIONS: dict[ReviewState, Precondition] = {
    ReviewState.surveyed: _surveyed,
    ReviewState.posted: _posted,
    ReviewState.approved: _approved,
}
"""What must hold before a review reaches each state."""


def today() -> date:
    return datetime.now(LOCAL_TIME).date()


def _households(refs: Sequence[HouseholdRef]) -> str:
    named = ", ".join(ref.household_code for ref in refs[:NAMED])
    more = f" and {len(refs) - NAMED} more" if len(refs) > NAMED else ""
    return f"{len(refs)} household(s) ({named}{more})"


# --- Village meetings ---------------------------------------------------------------------------


async def record_meeting(
    session: AsyncSession,
    review_round: ReviewRound,
    commune: AdminUnit,
    meeting_in: MeetingInput,
    caller: Caller,
    rules: Rules,
) -> MeetingRead:
    """Record a village meeting on surveyed households of the commune (while it is `surveyed`)."""
    review = await _locked(session, review_round, commune)
    if review.state is not ReviewState.surveyed:
        raise WrongState("village meetings are recorded", review.state, [ReviewState.surveyed])
    surveyed = await _surveyed_households(session, review.round_id, review.commune_code)
    errors: list[FieldError] = []
    seen: set[UUID] = set()
    for index, agreement in enumerate(meeting_in.agreements):
        loc: list[str | int] = ["body", "agreements", index]
        if agreement.household_id not in surveyed:
            errors.append(
                FieldError(
                    loc=[*loc, "household_id"],
                    msg=f"no survey of this household in commune {commune.code} in this round",
                )
            )
        elif agreement.household_id in seen:
            errors.append(FieldError(loc=[*loc, "household_id"], msg="listed twice"))
        if agreement.agreeing > meeting_in.attendance:
            errors.append(FieldError(loc=[*loc, "agreeing"], msg="more than the attendance"))
        seen.add(agreement.household_id)
    if meeting_in.held_on > today():
        errors.append(FieldError(loc=["body", "held_on"], msg="in the future"))
    if errors:
        raise InvalidInput(f"{len(errors)} problem(s) in the meeting's record.", errors=errors)
    meeting = VillageMeeting(
        round_id=review.round_id,
        commune_code=review.commune_code,
        village=meeting_in.village,
        held_on=meeting_in.held_on,
        attendance=meeting_in.attendance,
        recorded_by=caller.subject[:120],
    )
    session.add(meeting)
    await session.flush()  # before its agreements, which name it (no ORM relationship orders them)
    agreements = [
        MeetingAgreement(
            meeting_id=meeting.id,
            household_id=agreement.household_id,
            agreeing=agreement.agreeing,
            assessment_version=surveyed[agreement.household_id].version,
        )
        for agreement in meeting_in.agreements
    ]
    session.add_all(agreements)
    await session.flush()
    audit.record(
        session,
        "review.meeting_recorded",
        unit=_unit(review),
        changes={
            "round_id": str(review.round_id),
            "meeting_id": str(meeting.id),
            "village": meeting.village,
            "held_on": meeting.held_on.isoformat(),
            "households": len(agreements),
        },
    )
    codes = {household_id: ref.household_code for household_id, ref in surveyed.items()}
    return _meeting_read(meeting, agreements, codes, rules)


async def list_meetings(
    session: AsyncSession, review_round: ReviewRound, commune: AdminUnit, rules: Rules
) -> MeetingList:
    """The commune's meetings in the round, and the households still holding up the posting."""
    meetings = (
        await session.exec(
            select(VillageMeeting)
            .where(
                VillageMeeting.round_id == review_round.id,
                VillageMeeting.commune_code == commune.code,
            )
            .order_by(col(VillageMeeting.held_on), col(VillageMeeting.recorded_at))
        )
    ).all()
    agreements = (
        await session.exec(
            select(MeetingAgreement)
            .where(col(MeetingAgreement.meeting_id).in_([m.id for m in meetings]))
            .order_by(col(MeetingAgreement.id))
        )
    ).all()
    household_ids = {agreement.household_id for agreement in agreements}
    codes = dict(
        (
            await session.exec(
                select(Household.id, Household.household_code).where(
                    col(Household.id).in_(household_ids)
                )
            )
        ).all()
    )
    by_meeting: dict[UUID, list[MeetingAgreement]] = {}
    for agreement in agreements:
        by_meeting.setdefault(agreement.meeting_id, []).append(agreement)
    needs_resurvey, not_discussed = await _meeting_findings(
        session, review_round.id, commune.code, rules
    )
    return MeetingList(
        items=[_meeting_read(m, by_meeting.get(m.id, []), codes, rules) for m in meetings],
        total=len(meetings),
        needs_resurvey=needs_resurvey,
        not_discussed=not_discussed,
    )


@dataclass(frozen=True)
class _Surveyed:
    household_code: str
    version: int


async def _surveyed_households(
    session: AsyncSession, round_id: UUID, commune_code: str
) -> dict[UUID, _Surveyed]:
    statement = (
        select(Assessment.household_id, Household.household_code, Assessment.version)
        .join(Household, col(Household.id) == col(Assessment.household_id))
        .where(Assessment.round_id == round_id, Assessment.commune_code == commune_code)
        .order_by(col(Household.household_code))
    )
    return {
        household_id: _Surveyed(code, version)
        for household_id, code, version in (await session.exec(statement)).all()
    }


async def _meeting_findings(
    session: AsyncSession, round_id: UUID, commune_code: str, rules: Rules
) -> tuple[list[HouseholdRef], list[HouseholdRef]]:
    """The surveyed households whose last meeting agreed too little and that were not re-surveyed
    after it, and those no meeting has discussed."""
    surveyed = await _surveyed_households(session, round_id, commune_code)
    statement = (
        select(MeetingAgreement, VillageMeeting.attendance)
        .join(VillageMeeting, col(VillageMeeting.id) == col(MeetingAgreement.meeting_id))
        .where(VillageMeeting.round_id == round_id, VillageMeeting.commune_code == commune_code)
        .order_by(
            col(VillageMeeting.held_on), col(VillageMeeting.recorded_at), col(MeetingAgreement.id)
        )
    )
    last: dict[UUID, tuple[MeetingAgreement, int]] = {}
    for agreement, attendance in (await session.exec(statement)).all():
        last[agreement.household_id] = (agreement, attendance)
    needs_resurvey, not_discussed = [], []
    for household_id, household in surveyed.items():
        ref = HouseholdRef(household_id=household_id, household_code=household.household_code)
        if household_id not in last:
            not_discussed.append(ref)
            continue
        agreement, attendance = last[household_id]
        resurveyed = household.version > agreement.assessment_version
        if _below(agreement.agreeing, attendance, rules) and not resurveyed:
            needs_resurvey.append(ref)
    return needs_resurvey, not_discussed


def _below(agreeing: int, attendance: int, rules: Rules) -> bool:
    # In whole numbers: exactly the threshold (5 of 10 at 50%) is enough.
    return agreeing * 100 < rules.min_agreement_percent * attendance


def _meeting_read(
    meeting: VillageMeeting,
    agreements: Sequence[MeetingAgreement],
    codes: dict[UUID, str],
    rules: Rules,
) -> MeetingRead:
    return MeetingRead(
        id=meeting.id,
        village=meeting.village,
        held_on=meeting.held_on,
        attendance=meeting.attendance,
        recorded_by=meeting.recorded_by,
        recorded_at=meeting.recorded_at,
        agreements=[
            AgreementRead(
                household_id=a.household_id,
                household_code=codes.get(a.household_id, ""),
                agreeing=a.agreeing,
                agreement_share=round(a.agreeing / meeting.attendance, 4),
                needs_resurvey=_below(a.agreeing, meeting.attendance, rules),
            )
            for a in agreements
        ],
    )


# --- Objections during the posting --------------------------------------------------------------


async def lodge_objection(
    session: AsyncSession,
    review_round: ReviewRound,
    commune: AdminUnit,
    objection_in: ObjectionInput,
    caller: Caller,
) -> ObjectionRead:
    """Record an objection lodged during the public posting against a household's result."""
    review = await _locked(session, review_round, commune)
    if review.state is not ReviewState.posted:
        raise WrongState("objections are recorded", review.state, [ReviewState.posted])
    surveyed = await _surveyed_households(session, review.round_id, review.commune_code)
    if objection_in.household_id not in surveyed:
        raise InvalidInput.field(
            ["body", "household_id"],
            f"No survey of this household in commune {commune.code} in this round.",
        )
    assert review.posting_from is not None  # set by the step to `posted`
    if objection_in.lodged_on < review.posting_from or objection_in.lodged_on > today():
        raise InvalidInput.field(
            ["body", "lodged_on"],
            f"An objection is lodged from the posting's first day ({review.posting_from}) "
            "until today.",
        )
    objection = PostingObjection(
        round_id=review.round_id,
        commune_code=review.commune_code,
        **objection_in.model_dump(),
        recorded_by=caller.subject[:120],
    )
    session.add(objection)
    await session.flush()
    audit.record(
        session,
        "review.objection_lodged",
        unit=_unit(review),
        household_id=objection.household_id,
        changes={"round_id": str(review.round_id), "objection_id": str(objection.id)},
    )
    return objection_for(caller, objection)


async def recheck_objection(
    session: AsyncSession,
    review_round: ReviewRound,
    commune: AdminUnit,
    objection_id: UUID,
    recheck_in: RecheckInput,
    caller: Caller,
) -> ObjectionRead:
    """Record the re-check of an objection, once, while the lists are posted."""
    review = await _locked(session, review_round, commune)
    objection = await session.get(PostingObjection, objection_id, with_for_update=True)
    if (
        objection is None
        or objection.round_id != review.round_id
        or objection.commune_code != review.commune_code
    ):
        raise ObjectionNotFound(objection_id)
    if review.state is not ReviewState.posted:
        raise WrongState("objections are re-checked", review.state, [ReviewState.posted])
    if objection.outcome is not None:
        raise Conflict(
            f"This objection was re-checked by {objection.rechecked_by} on "
            f"{objection.rechecked_at}: {objection.outcome.value}."
        )
    objection.outcome = recheck_in.outcome
    objection.recheck_note = recheck_in.note
    objection.rechecked_by = caller.subject[:120]
    objection.rechecked_at = utc_now()
    await session.flush()
    audit.record(
        session,
        "review.objection_rechecked",
        unit=_unit(review),
        household_id=objection.household_id,
        changes={
            "round_id": str(review.round_id),
            "objection_id": str(objection.id),
            "outcome": {"old": None, "new": recheck_in.outcome.value},
        },
    )
    return objection_for(caller, objection)


async def list_objections(
    session: AsyncSession, review_round: ReviewRound, commune: AdminUnit, caller: Caller
) -> ObjectionList:
    statement = (
        select(PostingObjection)
        .where(
            PostingObjection.round_id == review_round.id,
            PostingObjection.commune_code == commune.code,
        )
        .order_by(col(PostingObjection.recorded_at), col(PostingObjection.id))
    )
    objections = (await session.exec(statement)).all()
    return ObjectionList(
        items=[objection_for(caller, objection) for objection in objections],
        total=len(objections),
        open=sum(objection.outcome is None for objection in objections),
    )


def objection_for(caller: Caller, objection: PostingObjection) -> ObjectionRead:
    """The objection, its author's name masked unless the caller may read personal data."""
    read = ObjectionRead.model_validate(objection, from_attributes=True)
    if caller.can(Permission.PERSONAL_DATA_READ):
        return read
    return read.model_copy(update={"lodged_by": MASK, "personal_data_masked": True})


async def _open_objections(session: AsyncSession, review: CommuneReview) -> int:
    statement = select(func.count()).where(
        PostingObjection.round_id == review.round_id,
        PostingObjection.commune_code == review.commune_code,
        col(PostingObjection.outcome).is_(None),
    )
    return (await session.exec(statement)).one()


# --- The province's approval --------------------------------------------------------------------


async def province_status(
    session: AsyncSession, review_round: ReviewRound, province: AdminUnit
) -> ProvinceApprovalRead:
    states = await _commune_states(session, review_round, province.code, lock=False)
    approval = await session.get(ProvinceApproval, (review_round.id, province.code))
    return _approval_read(review_round, province, approval, states)


async def approve_province(
    session: AsyncSession, review_round: ReviewRound, province: AdminUnit, caller: Caller
) -> ProvinceApprovalRead:
    """The province approves the round once every commune it covers is approved."""
    approval = await session.get(
        ProvinceApproval, (review_round.id, province.code), with_for_update=True
    )
    if approval is not None and approval.approved:
        raise Conflict(
            f"Province {province.code} approved this round already ({approval.approved_by}, "
            f"{approval.approved_at:%Y-%m-%d})."
        )
    # Share-locked: a commune reopened meanwhile waits for this approval, then withdraws it.
    states = await _commune_states(session, review_round, province.code, lock=True)
    if not states:
        raise Conflict(f"No commune of province {province.code} is under review in this round.")
    pending = [code for code, state in states.items() if state is not ReviewState.approved]
    if pending:
        named = ", ".join(pending[:NAMED]) + (" …" if len(pending) > NAMED else "")
        raise Conflict(
            f"{len(pending)} of the {len(states)} communes of province {province.code} in this "
            f"round are not approved yet ({named})."
        )
    now = utc_now()
    if approval is None:
        approval = ProvinceApproval(
            round_id=review_round.id,
            province_code=province.code,
            approved=True,
            communes=len(states),
            approved_by=caller.subject[:120],
            approved_at=now,
        )
        session.add(approval)
    else:
        approval.approved = True
        approval.version += 1
        approval.communes = len(states)
        approval.approved_by = caller.subject[:120]
        approval.approved_at = now
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent first approval won
        raise Conflict(f"Province {province.code} approved this round concurrently.") from error
    event = ProvinceApprovedV1(
        round_id=review_round.id,
        province_code=province.code,
        communes=approval.communes,
        actor=approval.approved_by,
        at=now,
    )
    envelope = Envelope.wrap(
        event,
        producer="households",
        subject=f"province-approval:{review_round.id}:{province.code}",
        sequence=approval.version,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )
    await stage(session, outbox, envelope)
    audit.record(
        session,
        "review.province_approved",
        unit=(province.code, None, None),
        changes={"round_id": str(review_round.id), "communes": approval.communes},
    )
    return _approval_read(review_round, province, approval, states)


async def _commune_states(
    session: AsyncSession, review_round: ReviewRound, province_code: str, *, lock: bool
) -> dict[str, ReviewState]:
    """The communes a province's approval covers, with their states.

    A periodic round reviews every commune: all the province's communes on the reference date. A
    regular round reviews the households that asked: the communes with a survey in it.
    """
    communes = select(AdminUnit.code).where(
        AdminUnit.level == UnitLevel.commune,
        AdminUnit.province_code == province_code,
        col(AdminUnit.valid_from) <= review_round.reference_date,
        (col(AdminUnit.valid_to).is_(None))
        | (col(AdminUnit.valid_to) >= review_round.reference_date),
    )
    if review_round.kind is RoundKind.regular:
        communes = communes.where(
            col(AdminUnit.code).in_(
                select(Assessment.commune_code).where(Assessment.round_id == review_round.id)
            )
        )
    codes = sorted(set((await session.exec(communes)).all()))
    statement = select(CommuneReview.commune_code, CommuneReview.state).where(
        CommuneReview.round_id == review_round.id, col(CommuneReview.commune_code).in_(codes)
    )
    if lock:
        statement = statement.with_for_update(read=True)
    recorded = {code: ReviewState(state) for code, state in (await session.exec(statement)).all()}
    return {code: recorded.get(code, ReviewState.open) for code in codes}


def _approval_read(
    review_round: ReviewRound,
    province: AdminUnit,
    approval: ProvinceApproval | None,
    states: dict[str, ReviewState],
) -> ProvinceApprovalRead:
    approved = approval is not None and approval.approved
    return ProvinceApprovalRead(
        round_id=review_round.id,
        province_code=province.code,
        approved=approved,
        approved_by=approval.approved_by if approval and approved else None,
        approved_at=approval.approved_at if approval and approved else None,
        communes=[CommuneState(commune_code=code, state=state) for code, state in states.items()],
    )


# --- Shared -------------------------------------------------------------------------------------


def _unit(review: CommuneReview) -> tuple[str, str, str]:
    return review.province_code, review.district_code, review.commune_code


def _path(review: CommuneReview) -> list[str]:
    # A commune of the two-level tree has no district (stored as "").
    return [code for code in _unit(review) if code]


def _envelope(event: Event, review: CommuneReview) -> Envelope:
    return Envelope.wrap(
        event,
        producer="households",
        subject=f"review:{review.round_id}:{review.commune_code}",
        sequence=review.version,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )
