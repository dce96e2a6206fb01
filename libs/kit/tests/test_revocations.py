"""Tokens issued before their subject's access changed: recorded, reloaded and refused."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table
from sqlmodel import select

from kit.auth import InvalidToken, Role, SigningKey, StaticKeys, TokenVerifier
from kit.auth.revocations import (
    NotBeforeList,
    define_token_not_before,
    not_before_consumer,
    record_not_before,
)
from kit.contracts import AccessChange, AccessChangedV1, Envelope, RoundOpenedV1
from kit.db import utc_now
from kit.messaging import IncomingMessage, PoisonMessage

from .conftest import Database

ISSUER, AUDIENCE = "https://issuer.test", "platform"
KEY = SigningKey.generate()


class Revoked:
    """A `NotBeforeSource` a test sets by hand."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def not_before(self, subject: str) -> float | None:
        return self.times.get(subject)


def issue(subject: str = "user:lan", *, at: datetime | None = None) -> str:
    return KEY.issue(
        issuer=ISSUER,
        audience=AUDIENCE,
        subject=subject,
        role=Role.COMMUNE_OFFICER,
        unit_scope=("08707",),
        lifetime=timedelta(minutes=15),
        now=at,
    )


def verifier(revoked: Revoked) -> TokenVerifier:
    return TokenVerifier(
        StaticKeys(KEY.jwks()), issuer=ISSUER, audience=AUDIENCE, not_before=revoked
    )


class TestVerifier:
    async def test_a_token_issued_before_the_change_is_refused_even_if_remembered(self) -> None:
        revoked = Revoked()
        tokens = verifier(revoked)
        token = issue()
        await tokens.verify(token)  # remembered from here on

        revoked.times["user:lan"] = datetime.now(UTC).timestamp()

        with pytest.raises(InvalidToken, match="access changed"):
            await tokens.verify(token)

    async def test_a_token_issued_after_the_change_is_accepted(self) -> None:
        revoked = Revoked()
        revoked.times["user:lan"] = datetime.now(UTC).timestamp()

        caller = await verifier(revoked).verify(issue(at=datetime.now(UTC)))

        assert caller.subject == "user:lan"

    async def test_a_token_issued_in_the_same_second_just_before_the_change_is_refused(
        self,
    ) -> None:
        revoked = Revoked()
        now = datetime.now(UTC).replace(microsecond=200_000)
        revoked.times["user:lan"] = now.replace(microsecond=700_000).timestamp()

        with pytest.raises(InvalidToken, match="access changed"):
            await verifier(revoked).verify(issue(at=now))
        caller = await verifier(revoked).verify(issue(at=now.replace(microsecond=900_000)))
        assert caller.subject == "user:lan"

    async def test_other_subjects_are_not_concerned(self) -> None:
        revoked = Revoked()
        token = issue("user:minh")
        revoked.times["user:lan"] = datetime.now(UTC).timestamp() + 60

        assert (await verifier(revoked).verify(token)).subject == "user:minh"


@pytest.fixture
async def table(sqlite_database: Database) -> tuple[Database, Table]:
    metadata = MetaData()
    not_before = define_token_not_before(metadata)
    async with sqlite_database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    return sqlite_database, not_before


def message(envelope: Envelope | bytes) -> IncomingMessage:
    body = envelope if isinstance(envelope, bytes) else envelope.model_dump_json().encode()
    return IncomingMessage(body=body, message_id=None, type=None, correlation_id=None)


def changed(subject: str, at: datetime) -> Envelope:
    event = AccessChangedV1(token_subject=subject, reason=AccessChange.deactivated, not_before=at)
    return Envelope.wrap(event, producer="gateway", subject=subject, sequence=1)


class TestTable:
    async def test_the_later_change_wins_whatever_the_order_of_arrival(
        self, table: tuple[Database, Table]
    ) -> None:
        database, not_before = table
        later, earlier = utc_now(), utc_now() - timedelta(minutes=1)
        handle = not_before_consumer(database.sessionmaker, not_before)

        for envelope in (changed("user:lan", later), changed("user:lan", earlier)):
            await handle(message(envelope))
        await handle(message(changed("user:lan", later)))  # delivered twice: no harm

        async with database.sessionmaker() as session:
            [moment] = (await session.exec(select(not_before.c.not_before))).all()
        assert moment.replace(tzinfo=UTC) == later

    async def test_every_process_learns_the_change_at_its_next_reload(
        self, table: tuple[Database, Table]
    ) -> None:
        database, not_before = table
        replicas = [
            NotBeforeList(database.sessionmaker, not_before, poll_seconds=1) for _ in range(2)
        ]
        now = utc_now()
        async with database.sessionmaker() as session, session.begin():
            await record_not_before(session, not_before, "api-key:7", now)

        for replica in replicas:
            await replica.reload()

        assert [replica.not_before("api-key:7") for replica in replicas] == [now.timestamp()] * 2
        assert replicas[0].not_before("user:lan") is None

    async def test_changes_older_than_any_valid_token_are_dropped(
        self, table: tuple[Database, Table]
    ) -> None:
        database, not_before = table
        async with database.sessionmaker() as session, session.begin():
            await record_not_before(session, not_before, "user:old", utc_now() - timedelta(hours=1))
            await record_not_before(session, not_before, "user:new", utc_now())

        async with database.sessionmaker() as session:
            subjects = (await session.exec(select(not_before.c.subject))).all()
        assert subjects == ["user:new"]

    async def test_a_message_that_is_not_a_change_of_access_is_poison(
        self, table: tuple[Database, Table]
    ) -> None:
        database, not_before = table
        handle = not_before_consumer(database.sessionmaker, not_before)
        other = Envelope.wrap(
            RoundOpenedV1.model_construct(), producer="households", subject="r", sequence=1
        )

        with pytest.raises(PoisonMessage):
            await handle(message(b"{not json"))
        with pytest.raises(PoisonMessage):
            await handle(message(other))
