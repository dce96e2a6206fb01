from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.round.exceptions import RoundAlreadyExists
from households.round.models import ReviewRound, RoundKind
from households.round.schemas import RoundCreate
from kit.cache import Reference, remembered
from kit.contracts import Envelope
from kit.contracts.households import RoundOpenedV1
from kit.errors import InvalidInput
from kit.logging import current_actor, current_request_id
from kit.messaging import stage

# A round never changes once opened: found once, it is remembered between requests.
# Regular reviews run monthly; their results take effect from the 15th (DOMAIN §6).
REGULAR_DAY = 15

ROUNDS = Reference[UUID, ReviewRound]("households.round", max_entries=1_000)


async def get(session: AsyncSession, round_id: UUID) -> ReviewRound | None:
    """The round, shared with other requests and in no session: read it, never change it."""
    return await remembered(session, ROUNDS, round_id, lambda: _get(session, round_id))


async def _get(session: AsyncSession, round_id: UUID) -> ReviewRound | None:
    review_round = await session.get(ReviewRound, round_id)
    if review_round is not None:
        # Out of the session, so that its rollback cannot expire what other requests read.
        session.expunge(review_round)
    return review_round


async def list_rounds(session: AsyncSession, *, year: int | None = None) -> Sequence[ReviewRound]:
    statement = select(ReviewRound).order_by(col(ReviewRound.reference_date).desc())
    if year is not None:
        statement = statement.where(ReviewRound.year == year)
    return (await session.exec(statement)).all()


async def open_round(
    session: AsyncSession, round_in: RoundCreate, *, known_standards: Sequence[str]
) -> ReviewRound:
    """Open a review round pinned to one poverty standard."""
    if round_in.standard_id not in known_standards:
        raise InvalidInput.field(
            ["body", "standard_id"],
            f"Unknown poverty standard {round_in.standard_id!r}; "
            f"known: {', '.join(known_standards)}.",
        )
    if round_in.reference_date.year not in (round_in.year, round_in.year + 1):
        raise InvalidInput.field(
            ["body", "reference_date"], "The reference date must fall in the round's year."
        )
    if round_in.kind is RoundKind.regular and round_in.reference_date.day != REGULAR_DAY:
        raise InvalidInput.field(
            ["body", "reference_date"],
            f"A regular review's reference date is the {REGULAR_DAY}th of its month "
            f"(not {round_in.reference_date}).",
        )
    duplicates = select(func.count()).where(
        ReviewRound.year == round_in.year,
        ReviewRound.kind == round_in.kind,
        ReviewRound.reference_date == round_in.reference_date,
    )
    if (await session.exec(duplicates)).one():
        raise RoundAlreadyExists(round_in.year, round_in.kind)
    review_round = ReviewRound(
        year=round_in.year,
        kind=round_in.kind,
        reference_date=round_in.reference_date,
        standard_id=round_in.standard_id,
        name=round_in.name or f"{round_in.kind.value.capitalize()} review {round_in.year}",
    )
    session.add(review_round)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent request opened it after the check above
        raise RoundAlreadyExists(round_in.year, round_in.kind) from error
    await stage(session, outbox, _opened(review_round))
    return review_round


def _opened(review_round: ReviewRound) -> Envelope:
    event = RoundOpenedV1(
        round_id=review_round.id,
        year=review_round.year,
        kind=review_round.kind.value,
        reference_date=review_round.reference_date,
        standard_id=review_round.standard_id,
        name=review_round.name,
    )
    return Envelope.wrap(
        event,
        producer="households",
        subject=str(review_round.id),
        sequence=1,
        correlation_id=current_request_id(),
        actor=current_actor(),
    )
