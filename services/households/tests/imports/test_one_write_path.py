"""A survey has one write path (`household.surveys.record`): the API's PUT (a batch of one) and a
bulk import (a batch of many) write the same rows and the same event facts for the same survey,
and refuse the same input with the same message; a batch's bad survey costs only itself."""

import copy
import csv
import io
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.db import outbox
from households.household import surveys
from households.household.models import Assessment, Household
from households.household.schemas import AssessmentInput, HouseholdCreate
from households.round.models import ReviewRound
from kit.auth import Caller, Role

SINGLE = "households.assessment.recorded.v1"
BATCH = "households.assessments.recorded.v1"
# What tells two households' surveys apart, rather than what the survey says.
OWN = {"assessment_id", "household_id", "household_code"}


async def put_survey(
    client: httpx.AsyncClient, round_id: str, household: dict[str, Any], survey: dict[str, Any]
) -> httpx.Response:
    registered = await client.post("/api/v1/households", json=household)
    assert registered.status_code == 201, registered.text
    url = f"/api/v1/households/{registered.json()['id']}/assessments/{round_id}"
    return await client.put(url, json=survey)


async def import_document(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any, document: dict[str, Any]
) -> dict[str, Any]:
    accepted = await upload("households.jsonl", files.lines([document]))
    assert accepted.status_code == 202, accepted.text
    await run_jobs()
    job = (await client.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
    report = await client.get(f"/api/v1/imports/{job['id']}/errors.csv")
    job["errors"] = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    return dict(job)


def without_ids(document: dict[str, Any]) -> dict[str, Any]:
    """The document with no national IDs (so that both copies of a survey claim nothing)."""
    document = copy.deepcopy(document)
    for member in document["assessment"]["members"]:
        member["national_id"] = None
    return document


async def test_the_api_and_an_import_write_the_same_rows_audit_and_event_facts(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    round_id: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    [document] = [without_ids(d) for d in files.documents(1)]
    by_api = document["household"] | {"household_code": "HH-BY-API"}
    put = await put_survey(client, round_id, by_api, document["assessment"])
    assert put.status_code == 201, put.text
    done = await import_document(client, files, upload, run_jobs, document)
    assert (done["households_imported"], done["errors"]) == (1, [])

    async with sessionmaker() as session:
        rows = {
            household.household_code: assessment
            for assessment, household in await session.exec(
                select(Assessment, Household).join(
                    Household, col(Household.id) == col(Assessment.household_id)
                )
            )
        }
        staged = (await session.exec(select(outbox.c.type, outbox.c.envelope))).all()
        entries = (await session.exec(select(AuditEntry))).all()
    api, imported = rows["HH-BY-API"], rows[document["household"]["household_code"]]
    facts = set(AssessmentInput.model_fields) | {"commune_code", "area", "version", "round_id"}
    assert api.model_dump(include=facts) == imported.model_dump(include=facts)

    [single] = [envelope for type_, envelope in staged if type_ == SINGLE]
    [batch] = [envelope for type_, envelope in staged if type_ == BATCH]
    [item] = batch["data"]["assessments"]
    assert item["sequence"] == single["sequence"] == 1
    assert {k: v for k, v in item["assessment"].items() if k not in OWN} == {
        k: v for k, v in single["data"].items() if k not in OWN
    }

    # Each survey audited once, under its household's units, by the same caller; the API's
    # entry holds the survey's facts, the import's names the import that holds them.
    by_household = {entry.household_id: entry for entry in entries if "assessment" in entry.action}
    api_entry, import_entry = by_household[api.household_id], by_household[imported.household_id]
    assert (api_entry.action, import_entry.action) == ("assessment.recorded", "assessment.imported")
    assert api_entry.commune_code == import_entry.commune_code == api.commune_code
    assert api_entry.actor == import_entry.actor
    assert import_entry.changes["import_id"] == done["id"]
    assert import_entry.changes["household_registered"] is True


def _born_after(document: dict[str, Any]) -> None:
    document["assessment"]["members"][-1]["birth_date"] = "2030-01-01"


def _born_too_early(document: dict[str, Any]) -> None:
    document["assessment"]["members"][0]["birth_date"] = "1800-01-01"


def _same_id_twice(document: dict[str, Any]) -> None:
    members = document["assessment"]["members"]
    members[0]["national_id"] = members[-1]["national_id"] = "026190000042"


@pytest.mark.parametrize(
    ("spoil", "field"),
    [
        (_born_after, "birth_date"),
        (_born_too_early, "birth_date"),
        (_same_id_twice, "national_id"),
    ],
    ids=["born after the reference date", "older than 130", "a national ID twice"],
)
async def test_the_api_and_an_import_refuse_the_same_survey_with_the_same_message(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    round_id: str,
    spoil: Any,
    field: str,
) -> None:
    [document] = [d for d in files.documents(20) if len(d["assessment"]["members"]) >= 2][:1]
    spoil(document)
    by_api = document["household"] | {"household_code": "HH-BY-API"}
    put = await put_survey(client, round_id, by_api, document["assessment"])
    done = await import_document(client, files, upload, run_jobs, document)

    assert put.status_code == 422, put.text
    [api_error] = put.json()["errors"]
    [row_error] = done["errors"]
    assert api_error["loc"][0] == "body"
    assert api_error["loc"][-1] == field
    assert row_error["field"] == ".".join(["assessment", *map(str, api_error["loc"][1:])])
    assert row_error["message"] == api_error["msg"] == put.json()["detail"]
    assert done["households_failed"] == 1


async def test_a_bad_survey_in_a_batch_writes_nothing_of_itself_and_all_of_the_others(
    files: Any, round_id: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    documents = [without_ids(d) for d in files.documents(3)]
    documents[1]["assessment"]["members"][0]["birth_date"] = "2030-01-01"
    batch = [
        surveys.Survey(
            AssessmentInput.model_validate(document["assessment"]),
            registration=HouseholdCreate.model_validate(document["household"]),
        )
        for document in documents
    ]
    admin = Caller(subject="test-admin", role=Role.ADMIN, unit_scope=None)

    async with sessionmaker() as session, session.begin():
        review_round = await session.get(ReviewRound, UUID(round_id))
        assert review_round is not None
        outcomes = await surveys.record(
            session,
            batch,
            review_round=review_round,
            caller=admin,
            source=surveys.FromImport(job_id=UUID(int=1), first_row=1),
        )

    first, bad, third = outcomes
    assert isinstance(first, surveys.Recorded)
    assert isinstance(third, surveys.Recorded)
    assert isinstance(bad, surveys.Refused)
    [refusal] = bad.refusals
    assert (refusal.part, refusal.loc) == ("assessment", ("members", 0, "birth_date"))
    assert refusal.error.status_code == 422
    assert date(2030, 1, 1).isoformat() in refusal.message
    async with sessionmaker() as session:
        codes = set((await session.exec(select(Household.household_code))).all())
        assessments = (await session.exec(select(Assessment.household_id))).all()
        [message] = await session.exec(select(outbox.c.envelope).where(outbox.c.type == BATCH))
    assert codes == {
        documents[0]["household"]["household_code"],
        documents[2]["household"]["household_code"],
    }
    assert set(assessments) == {first.household.id, third.household.id}
    assert [item["assessment"]["household_id"] for item in message["data"]["assessments"]] == [
        str(first.household.id),
        str(third.household.id),
    ]
    assert message["subject"] == f"import:{UUID(int=1)}:1"
