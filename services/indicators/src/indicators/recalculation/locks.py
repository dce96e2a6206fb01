from uuid import UUID

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.recalculation.models import RoundLock
from kit.db import insert_for, table_of


async def lock_round(session: AsyncSession, round_id: UUID, *, exclusive: bool) -> None:
    """Hold the round's lock until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "sqlite":
        return  # a SQLite write transaction already excludes every other writer
    table = table_of(RoundLock)
    await session.exec(
        insert_for(session, table).values(round_id=round_id).on_conflict_do_nothing()
    )
    statement = select(RoundLock).where(RoundLock.round_id == round_id)
    locked = statement.with_for_update(read=not exclusive)
    await session.exec(locked)
