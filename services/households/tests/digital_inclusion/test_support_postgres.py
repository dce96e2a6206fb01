"""The write path of support records on PostgreSQL, from the service's migrations: a batch large
enough to be written with `COPY`, one bad entry in it writing nothing of itself, one message."""

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.config import Settings
from households.db import outbox
from households.digital_team import service as team_service
from households.digital_team.schemas import TeamCreate, TeamMemberCreate
from households.household import service as household_service
from households.household.schemas import HouseholdCreate
from households.migrate import migrate
from households.support import service as support_service
from households.support.models import SupportRecord
from households.support.schemas import SupportInput
from kit import testing
from kit.auth import Caller, Role
from kit.bulk import COPY_MIN_ROWS
from kit.db import make_engine, make_sessionmaker

from .conftest import QUANG_SON, TEAM_START

pytestmark = pytest.mark.infra
ADMIN = Caller(subject="test", role=Role.ADMIN, unit_scope=None)


@pytest.fixture
async def postgres() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    testing.require_infra()
    url = await testing.create_database("households_support")
    engine = make_engine(url)
    try:
        await migrate(Settings(DATABASE_URL=url, LOG_JSON=False, LOG_LEVEL="WARNING"))
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()
        await testing.drop_database(url)


async def test_a_large_batch_is_written_whole_but_its_bad_entry_and_published_once(
    postgres: async_sessionmaker[AsyncSession],
) -> None:
    count = COPY_MIN_ROWS + 10
    async with postgres() as session, session.begin():
        team = await team_service.create(
            session,
            QUANG_SON,
            TeamCreate(name="Tổ CNS", villages=["Thôn 1"], active_from=TEAM_START),
            ADMIN,
        )
        member = await team_service.add_member(
            session, team, TeamMemberCreate(full_name="Lê Văn An", role="Tổ viên")
        )
        households = [
            await household_service.register(
                session,
                HouseholdCreate(
                    household_code=f"PG-{n:03d}", commune_code=QUANG_SON, village="Thôn 1"
                ),
                ADMIN,
            )
            for n in range(count)
        ]
    phone = SupportInput(
        kind="device_given", device="smartphone", given_on=date.today(), member_id=member.id
    )
    entries = [support_service.Entry(phone, household=h) for h in households]
    entries[7] = support_service.Entry(
        phone.model_copy(update={"device": None}), household=households[7]
    )

    async with postgres() as session, session.begin():
        outcomes = await support_service.record(session, ADMIN, entries)

    assert [isinstance(o, support_service.Refused) for o in outcomes].count(True) == 1
    assert isinstance(outcomes[7], support_service.Refused)
    async with postgres() as session:
        written = (await session.exec(select(SupportRecord.household_id))).all()
        audited = select(func.count()).where(col(AuditEntry.action) == "support.recorded")
        [message] = (
            await session.exec(
                select(outbox.c.envelope).where(outbox.c.type == "households.support.recorded.v1")
            )
        ).all()
        assert (await session.exec(audited)).one() == count - 1
    assert set(written) == {h.id for n, h in enumerate(households) if n != 7}
    assert len(message["data"]["records"]) == count - 1
    assert message["data"]["records"][0]["device"] == "smartphone"
