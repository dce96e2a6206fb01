from typing import Annotated
from uuid import UUID

from fastapi import Depends

from households.round import service as round_service
from households.round.exceptions import RoundNotFound
from households.round.models import ReviewRound
from kit.db import SessionDep


async def valid_round(round_id: UUID, session: SessionDep) -> ReviewRound:
    """The review round named in the path, or 404."""
    review_round = await round_service.get(session, round_id)
    if review_round is None:
        raise RoundNotFound(round_id)
    return review_round


ValidRound = Annotated[ReviewRound, Depends(valid_round)]
