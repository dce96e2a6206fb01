"""Scopes in old unit codes, carried onto the map in force by `python -m gateway.users
migrate-scopes`: replaced only where that covers exactly the same units, refused otherwise with
the units to choose from; never widened or narrowed. The units are the households service's,
asked over its API (in-process here) on a database seeded with both trees and the crosswalk."""

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import households.main
from gateway.api_keys.models import ApiKey
from gateway.auth.issuer import TokenIssuer
from gateway.auth.models import RefreshToken
from gateway.config import Settings as GatewaySettings
from gateway.db import token_not_before
from gateway.models import metadata as gateway_metadata
from gateway.scope_migration import migrate
from gateway.units import UnitDirectory
from gateway.users.models import User
from households.config import Settings as HouseholdsSettings
from households.db import Base as HouseholdsBase
from households.unit.models import AdminUnit, DivisionType, UnitLevel, UnitSuccession
from households.unit.seed import NEW_FROM, OLD_FROM, OLD_TO, seed_units
from kit.contracts.households import Area, SuccessionRelation
from kit.db import make_engine, make_sessionmaker, utc_now
from kit.messaging import InProcessBus
from kit.testing import TEST_SIGNING_KEY, trusted_test_keys

TODAY = date(2026, 1, 15)
# No real unit of the 2025 reform kept its level and its territory under another code (the five
# island districts that did became commune-level special zones), so the test adds one that did.
RENAMED_OLD, RENAMED_NEW = "99990", "99991"


def _commune(code: str, name: str, *, old: bool) -> AdminUnit:
    return AdminUnit(
        code=code,
        name=name,
        search_name=name.lower(),
        level=UnitLevel.commune,
        division_type=DivisionType.commune,
        area=Area.rural,
        parent_code="246" if old else "25",
        province_code="26" if old else "25",
        district_code="246" if old else None,
        valid_from=OLD_FROM if old else NEW_FROM,
        valid_to=OLD_TO if old else None,
        source="test",
    )


@pytest.fixture
async def lookup(tmp_path: Path) -> AsyncIterator[UnitDirectory]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'households.db'}"
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(HouseholdsBase.metadata.create_all)
    async with make_sessionmaker(engine)() as session, session.begin():
        await seed_units(session)
        session.add(_commune(RENAMED_OLD, "Xã Cũ", old=True))
        session.add(_commune(RENAMED_NEW, "Xã Mới", old=False))
        await session.flush()
        session.add(
            UnitSuccession(
                predecessor_code=RENAMED_OLD,
                predecessor_valid_from=OLD_FROM,
                successor_code=RENAMED_NEW,
                successor_valid_from=NEW_FROM,
                relation=SuccessionRelation.renamed,
                effective=NEW_FROM,
                source="test",
            )
        )
    settings = HouseholdsSettings(
        ENVIRONMENT="test", LOG_JSON=False, LOG_LEVEL="WARNING", DATABASE_URL=url
    )
    app = households.main.create_app(
        settings, bus=InProcessBus(), engine=engine, token_keys=trusted_test_keys()
    )
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://households"
        ) as client,
    ):
        yield UnitDirectory(client, TokenIssuer(TEST_SIGNING_KEY, GatewaySettings()))
    await engine.dispose()


@pytest.fixture
async def gateway_sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(gateway_metadata.create_all)
    yield make_sessionmaker(engine)
    await engine.dispose()


SCOPES = {
    "quang-son": ("commune_officer", ["08764"]),  # merged whole, with two others, into 08770
    "vinh-phuc": ("province_officer", ["26"]),  # merged whole into Phú Thọ (25)
    "lap-thach": ("province_officer", ["246"]),  # a district: abolished
    "hong-ha": ("commune_officer", ["09796"]),  # split among four communes
    "hoang-sa": ("province_officer", ["498"]),  # an island district, now a commune-level zone
    "renamed": ("commune_officer", ["08770", RENAMED_OLD]),
    "today": ("commune_officer", ["08770"]),
}


async def _holders(sessions: async_sessionmaker[AsyncSession]) -> dict[str, User]:
    users = {
        name: User(username=name, password_hash="-", role=role, unit_scope=units)
        for name, (role, units) in SCOPES.items()
    }
    async with sessions() as session, session.begin():
        session.add_all(users.values())
        await session.flush()
        session.add(
            RefreshToken(
                family_id=users["renamed"].id,
                user_id=users["renamed"].id,
                token_digest="renamed",
                expires_at=utc_now() + timedelta(days=1),
            )
        )
        session.add(
            ApiKey(
                name="ministry",
                prefix="vnk_ab12",
                secret_digest="x",
                role="ministry_analyst",
                unit_scope=["26"],
                created_by="admin",
            )
        )
    return users


async def _scopes(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[str] | None]:
    async with sessions() as session:
        users = {user.username: user.unit_scope for user in await session.exec(select(User))}
        keys = {key.name: key.unit_scope for key in await session.exec(select(ApiKey))}
    return users | keys


async def test_only_exact_replacements_are_made_and_every_other_code_is_refused_by_name(
    lookup: UnitDirectory, gateway_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _holders(gateway_sessions)

    async with gateway_sessions() as session, session.begin():
        lines = await migrate(session, lookup, on=TODAY, apply=True)

    by_holder: dict[str, list[str]] = {}
    for line in lines:
        holder, _, rest = line.partition(": ")
        by_holder.setdefault(holder, []).append(rest)
    assert by_holder["user renamed"] == [f"changed {RENAMED_OLD} → {RENAMED_NEW} (Xã Mới, renamed)"]
    [quang_son] = by_holder["user quang-son"]
    assert quang_son.startswith("refused 08764 went whole into 08770 (Xã Hợp Lý)")
    assert "wider" in quang_son
    assert by_holder["user vinh-phuc"] == by_holder["API key 'ministry' (vnk_ab12)"]
    assert by_holder["user vinh-phuc"][0].startswith("refused 26 went whole into 25 (Tỉnh Phú Thọ)")
    [hong_ha] = by_holder["user hong-ha"]
    assert hong_ha.startswith("refused 09796 was split among 08980 (Xã Yên Lãng), 09022")
    [lap_thach] = by_holder["user lap-thach"]
    assert lap_thach.startswith("refused 246 is not in force on 2026-01-15 and took no successor")
    [hoang_sa] = by_holder["user hoang-sa"]
    assert "20333 (Đặc khu Hoàng Sa)" in hoang_sa
    assert "another level" in hoang_sa
    assert "user today" not in by_holder
    # Refused codes stay as they were; the exact one is replaced.
    assert await _scopes(gateway_sessions) == {
        name: units for name, (_, units) in SCOPES.items() if name != "renamed"
    } | {"renamed": ["08770", RENAMED_NEW], "ministry": ["26"]}
    async with gateway_sessions() as session:
        [token] = await session.exec(select(RefreshToken))
        refused_before = (await session.exec(select(token_not_before.c.subject))).all()
    assert token.revoked_at is not None
    # Access tokens under the old scope are refused everywhere from now on.
    assert refused_before == ["user:renamed"]


async def test_without_apply_nothing_is_written(
    lookup: UnitDirectory, gateway_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _holders(gateway_sessions)
    before = await _scopes(gateway_sessions)

    async with gateway_sessions() as session, session.begin():
        lines = await migrate(session, lookup, on=TODAY, apply=False)

    assert f"user renamed: would change {RENAMED_OLD} → {RENAMED_NEW} (Xã Mới, renamed)" in lines
    assert await _scopes(gateway_sessions) == before
    async with gateway_sessions() as session:
        [token] = await session.exec(select(RefreshToken))
    assert token.revoked_at is None
