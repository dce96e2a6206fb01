"""The facts tables: filled from existing copies by the migration, kept in line with the copies,
and read by a what-if that leaves the official tables as they are."""

import asyncio
from pathlib import Path
from uuid import uuid4

import pytest
from alembic import command
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification import service as classification_service
from indicators.classification import setwise
from indicators.classification.engine import classify
from indicators.classification.models import AssessmentCopy, HouseholdClassification
from indicators.classification.testing import assessment, member
from indicators.facts import service as facts_service
from indicators.facts.models import AssessmentFacts, MemberFact
from indicators.figures.cell_key import RecordKeys
from indicators.figures.models import UnitFigure
from indicators.migrate import MIGRATIONS
from indicators.standard.service import get_standard
from kit import testing
from kit.contracts import Envelope
from kit.contracts.households import Area, AssessmentRecordedV1, Device, Sex
from kit.db import make_engine, make_sessionmaker, table_of, utc_now
from kit.migrations import alembic_config

KEYS = RecordKeys(b"facts test secret")
BEFORE_FACTS = "8e4b2d6f0c15"
# The counters households add; the resident population and the commune flags are not a what-if's.
HOUSEHOLD_METRICS = (
    "households.",
    "persons.",
    "deprived.",
    "deprived_dimension.",
    "deprived_together.",
    "deprivations.",
)


def households(count: int) -> list[AssessmentRecordedV1]:
    round_id = uuid4()
    return [
        assessment(
            assessment_id=uuid4(),
            household_id=uuid4(),
            round_id=round_id,
            household_code=f"H{number}",
            area=Area.urban if number % 3 else Area.rural,
            income_score_a=120 + 7 * number,
            members=[
                member(1, has_health_insurance=number % 2 == 0),
                member(2, age_years=8 + number % 5, sex=Sex.female, attending_school=number > 4),
            ],
            internet_use=number % 4 != 0,
            devices=[] if number % 5 == 0 else [Device.tv, Device.radio],
        )
        for number in range(count)
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'facts.db'}"
        return
    testing.require_infra()
    url = await testing.create_database("facts_migration")
    yield url
    await testing.drop_database(url)


async def test_the_migration_fills_the_facts_of_copies_recorded_before_it(
    database_url: str,
) -> None:
    config = alembic_config(MIGRATIONS, database_url)
    await asyncio.to_thread(command.upgrade, config, BEFORE_FACTS)
    events = households(3)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            # The copy table is as it was before the facts tables: its model writes it.
            await connection.execute(
                table_of(AssessmentCopy).insert(),
                [
                    {
                        "assessment_id": event.assessment_id,
                        "household_id": event.household_id,
                        "round_id": event.round_id,
                        "sequence": 2,
                        "facts": event.model_dump(mode="json"),
                        "received_at": utc_now(),
                    }
                    for event in events
                ],
            )
        await asyncio.to_thread(command.upgrade, config, "head")
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            migrated = await _facts(session)
            # Record keys need the secret: the first refresh computes them, and only them.
            assert await facts_service.refresh(session, events[0].round_id, KEYS) == len(events)
            refreshed = await _facts(session)
        async with sessionmaker() as session, session.begin():
            assert await facts_service.refresh(session, events[0].round_id, KEYS) == 0
            await facts_service.store(session, [(2, event) for event in events], KEYS)
            stored = await _facts(session)
    finally:
        await engine.dispose()

    assert refreshed == stored
    without_keys = {
        key: {**row, "record_key": None, "record_key_check": None} if key[0] == "h" else row
        for key, row in stored.items()
    }
    assert migrated == without_keys


async def _facts(session: AsyncSession) -> dict[tuple[str, str], dict[str, object]]:
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for row in (await session.exec(select(*table_of(AssessmentFacts).c))).all():
        household = dict(row._mapping)
        rows[("h", str(household["assessment_id"]))] = household
    for row in (await session.exec(select(*table_of(MemberFact).c))).all():
        person = dict(row._mapping)
        rows[("m", f"{person['assessment_id']}/{person['position']}")] = person
    return rows


async def test_a_survey_recorded_again_replaces_its_facts_and_leaves_the_others_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second = households(2)

    async def record(event: AssessmentRecordedV1, sequence: int) -> None:
        envelope = Envelope.wrap(event, producer="households", subject="s", sequence=sequence)
        async with sessionmaker() as session, session.begin():
            await classification_service.record_assessments(
                session, classification_service.received([(envelope, event)]), KEYS
            )

    await record(first, 1)
    await record(second, 2)
    # The first household surveyed again: one member fewer and a new dwelling answer.
    again = first.model_copy(
        update={"members": first.members[:1], "internet_use": not first.internet_use}
    )
    await record(again, 3)

    async with sessionmaker() as session:
        stored = await _facts(session)
    people = {key[1] for key in stored if key[0] == "m"}
    assert people == {f"{first.assessment_id}/0"} | {
        f"{second.assessment_id}/{position}" for position in (0, 1)
    }
    facts = {key[1]: row for key, row in stored.items() if key[0] == "h"}
    assert facts[str(first.assessment_id)]["sequence"] == 3
    assert facts[str(first.assessment_id)]["internet_use"] is (not first.internet_use)
    assert facts[str(second.assessment_id)]["sequence"] == 2


async def test_a_what_if_under_the_standard_gives_the_official_counts_and_a_draft_its_own(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    events = households(12)
    round_id = events[0].round_id
    async with sessionmaker() as session, session.begin():
        deliveries = [
            (Envelope.wrap(event, producer="households", subject="s", sequence=1), event)
            for event in events
        ]
        await classification_service.record_assessments(
            session, classification_service.received(deliveries), KEYS
        )
    official = await _official(sessionmaker, round_id)
    stored = await _classes(sessionmaker)

    standard = get_standard("VN-2022-2025")
    income = standard.income_test
    draft = standard.model_copy(
        update={
            "id": "VN-DRAFT",
            "income_test": income.model_copy(
                update={"score_cutoff": income.score_cutoff.model_copy(update={"urban": 200})}
            ),
        }
    )
    async with sessionmaker() as session, session.begin():
        same = await setwise.what_if(session, standard, round_id, record_keys=KEYS)
        changed = await setwise.what_if(session, draft, round_id, record_keys=KEYS)

    assert {
        (unit, metric): (value, key_sum) for (_, unit, metric), value, key_sum in same.items()
    } == official
    assert {key[0] for key, _, _ in same.items()} == {round_id}
    assert (
        changed.values[(round_id, "26", "households.poor.urban")]
        + changed.values[(round_id, "26", "households.near_poor.urban")]
        > official[("26", "households.near_poor.urban")][0]
        + official.get(("26", "households.poor.urban"), (0, 0))[0]
    )
    assert await _official(sessionmaker, round_id) == official
    assert await _classes(sessionmaker) == stored


async def _official(
    sessionmaker: async_sessionmaker[AsyncSession], round_id: object
) -> dict[tuple[str, str], tuple[int, int]]:
    async with sessionmaker() as session:
        rows = [r._mapping for r in (await session.exec(select(*table_of(UnitFigure).c))).all()]
    return {
        (row["unit_code"], row["metric"]): (row["value"], row["key_sum"])
        for row in rows
        if row["round_id"] == round_id
        and (row["value"] or row["key_sum"])
        and row["metric"].startswith(HOUSEHOLD_METRICS)
        and ".resident" not in row["metric"]
    }


async def _classes(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        table = table_of(HouseholdClassification)
        rows = [r._mapping for r in (await session.exec(select(*table.c))).all()]
        return sorted((str(row["assessment_id"]), row["household_class"]) for row in rows)


async def test_changed_names_exactly_the_households_a_corrected_standard_classifies_otherwise(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    events = households(12)
    round_id = events[0].round_id
    async with sessionmaker() as session, session.begin():
        deliveries = [
            (Envelope.wrap(event, producer="households", subject="s", sequence=1), event)
            for event in events
        ]
        await classification_service.record_assessments(
            session, classification_service.received(deliveries), KEYS
        )
    standard = get_standard("VN-2022-2025")
    income = standard.income_test
    corrected = standard.model_copy(
        update={
            "income_test": income.model_copy(
                update={"score_cutoff": income.score_cutoff.model_copy(update={"urban": 200})}
            )
        }
    )
    stored = {event.assessment_id: classify(event, standard) for event in events}
    differing = {
        event.assessment_id
        for event in events
        if classify(event, corrected).model_dump() != stored[event.assessment_id].model_dump()
    }
    where = setwise.households_of(round_id)

    async with sessionmaker() as session, session.begin():
        assert await setwise.changed(session, standard, where) == []
        assert {o.assessment_id for o in await setwise.changed(session, corrected, where)} == (
            differing
        )
        marked = await setwise.confirm_unchanged(session, corrected, where)
        # Marked under the correction, the others are compared on columns only, and still found.
        assert {o.assessment_id for o in await setwise.changed(session, corrected, where)} == (
            differing
        )
        digests = await _digests(session)

    assert 0 < len(differing) < len(events)
    assert marked == len(events) - len(differing)
    assert {d for i, d in digests.items() if i not in differing} == {
        facts_service.standard_digest(corrected)
    }
    assert {d for i, d in digests.items() if i in differing} == {
        facts_service.standard_digest(standard)
    }


async def _digests(session: AsyncSession) -> dict[object, str | None]:
    facts = table_of(AssessmentFacts)
    rows = (await session.exec(select(facts.c.assessment_id, facts.c.classified_under))).all()
    return {assessment_id: digest for assessment_id, digest in rows}
