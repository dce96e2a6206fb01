from datetime import date

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from households.round import service as round_service
from households.round.exceptions import RoundAlreadyExists
from households.round.models import ReviewRound, RoundKind
from households.round.schemas import RoundCreate

STANDARDS = ["VN-2022-2025"]


def round_in() -> RoundCreate:
    return RoundCreate(year=2024, reference_date=date(2024, 11, 1), standard_id="VN-2022-2025")


class TestOpenRound:
    async def test_a_duplicate_that_slips_past_the_check_is_still_a_conflict(
        self, session: AsyncSession
    ) -> None:
        # A concurrent request's row, not yet visible to the duplicate check (no autoflush).
        session.add(
            ReviewRound(
                year=2024,
                kind=RoundKind.periodic,
                reference_date=date(2024, 11, 1),
                standard_id="VN-2022-2025",
                name="Opened concurrently",
            )
        )

        with session.no_autoflush, pytest.raises(RoundAlreadyExists):
            await round_service.open_round(session, round_in(), known_standards=STANDARDS)
