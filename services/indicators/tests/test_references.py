"""A figures read looks up the round's standard and the unit's path once per process: those rows
are written once, from events, and never change. What is not known yet is looked up again."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.figures.counts import SURVEYED_HOUSEHOLDS
from indicators.figures.models import RoundRef, UnitFigure, UnitRef
from kit.auth import Role

AsRole = Callable[..., httpx.AsyncClient]


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL the engine sends while in the block."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def reading(table: str, sent: list[str]) -> int:
    return sum(f"FROM {table}" in statement for statement in sent)


async def learn(
    sessionmaker: async_sessionmaker[AsyncSession], round_id: UUID, path: list[str]
) -> None:
    """What the consumer records of an assessment event in the commune at the end of `path`."""
    async with sessionmaker() as session, session.begin():
        if await session.get(RoundRef, round_id) is None:
            session.add(
                RoundRef(
                    round_id=round_id,
                    standard_id="VN-2022-2025",
                    year=2024,
                    reference_date=date(2024, 11, 1),
                )
            )
        for depth, code in enumerate(path):
            if await session.get(UnitRef, (round_id, code)) is None:
                level = "commune" if depth == len(path) - 1 else ("province", "district")[depth]
                session.add(
                    UnitRef(
                        round_id=round_id,
                        unit_code=code,
                        level=level,
                        parent_code=path[depth - 1] if depth else None,
                    )
                )
                session.add(
                    UnitFigure(
                        round_id=round_id, unit_code=code, metric=SURVEYED_HOUSEHOLDS, value=1
                    )
                )


class TestReferenceLookups:
    async def test_the_round_and_the_units_path_are_read_once(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        as_role: AsRole,
    ) -> None:
        round_id = uuid4()
        await learn(sessionmaker, round_id, ["26", "243", "08707"])
        admin = as_role(Role.ADMIN)

        with statements(engine) as sent:
            answers = [await admin.get(f"/api/v1/figures/{round_id}/08707") for _ in range(3)]

        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert reading("round_ref", sent) == 1
        assert reading("unit_ref", sent) == 3  # the commune, its district, its province: once
        assert reading("unit_figure", sent) == 3

    async def test_a_unit_and_a_round_learned_later_are_found(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        known, later = uuid4(), uuid4()
        await learn(sessionmaker, known, ["26", "243", "08707"])
        admin = as_role(Role.ADMIN)
        assert (await admin.get(f"/api/v1/figures/{known}/08764")).status_code == 404
        assert (await admin.get(f"/api/v1/figures/{later}/08707")).status_code == 404

        await learn(sessionmaker, known, ["26", "246", "08764"])
        await learn(sessionmaker, later, ["26", "243", "08707"])

        assert (await admin.get(f"/api/v1/figures/{known}/08764")).status_code == 200
        assert (await admin.get(f"/api/v1/figures/{later}/08707")).status_code == 200

    async def test_a_commune_on_the_two_level_map_is_remembered(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        as_role: AsRole,
    ) -> None:
        round_id = uuid4()
        await learn(sessionmaker, round_id, ["25", "08707"])
        admin = as_role(Role.ADMIN)

        with statements(engine) as sent:
            answers = [await admin.get(f"/api/v1/figures/{round_id}/08707") for _ in range(3)]

        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert reading("unit_ref", sent) == 2  # the commune and its province: once

    async def test_a_unit_outside_the_scope_stays_hidden_when_remembered(
        self, sessionmaker: async_sessionmaker[AsyncSession], as_role: AsRole
    ) -> None:
        round_id = uuid4()
        await learn(sessionmaker, round_id, ["26", "243", "08707"])
        await as_role(Role.ADMIN).get(f"/api/v1/figures/{round_id}/08707")

        elsewhere = as_role(Role.COMMUNE_OFFICER, "08764")

        assert (await elsewhere.get(f"/api/v1/figures/{round_id}/08707")).status_code == 404
