"""Bulk import through the API: the generator's file, a broken file, a re-upload, the rules."""

import csv
import gzip
import io
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.config import Settings
from households.conflict.models import NationalIdConflict
from households.db import outbox
from households.household import events
from households.household.models import Assessment, Household, NationalIdClaim
from households.household.schemas import AssessmentInput
from households.imports.layout import COLUMNS, spreadsheet_rows
from households.round.models import ReviewRound
from households.unit import service as unit_service
from kit.auth import Role
from synthetic import REFERENCE_DATE

REGISTERED = "households.household.registered.v1"
REGISTERED_BATCH = "households.households.registered.v1"
RECORDED = "households.assessment.recorded.v1"
BATCH = "households.assessments.recorded.v1"


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessionmaker() as session:
        result = {}
        for name, table in (
            ("households", Household),
            ("assessments", Assessment),
            ("claims", NationalIdClaim),
            ("audit", AuditEntry),
        ):
            result[name] = (await session.exec(select(func.count()).select_from(table))).one()
        staged = (await session.exec(select(outbox.c.type, outbox.c.envelope))).all()
    types = [type_ for type_, _ in staged]
    # An import publishes its registrations and surveys in one message each per batch, never
    # one per household or survey (those it registers through the API publish their own).
    assert RECORDED not in types
    result["registered"] = types.count(REGISTERED) + sum(
        len(envelope["data"]["households"])
        for type_, envelope in staged
        if type_ == REGISTERED_BATCH
    )
    result["recorded"] = sum(
        len(envelope["data"]["assessments"]) for type_, envelope in staged if type_ == BATCH
    )
    return result


def kept(settings: Settings) -> list[str]:
    """The uploads kept in the import folder."""
    return sorted(path.name for path in Path(settings.IMPORT_DIR).iterdir())


async def job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/imports/{job_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def report(client: httpx.AsyncClient, job_id: str) -> list[dict[str, str]]:
    response = await client.get(f"/api/v1/imports/{job_id}/errors.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_the_generators_file_imports_cleanly(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    accepted = await upload("households.jsonl", files.jsonl(40))
    assert accepted.status_code == 202, accepted.text
    queued = accepted.json()
    assert queued["status"] == "queued"
    assert accepted.headers["location"] == f"/api/v1/imports/{queued['id']}"
    assert kept(settings) == [f"{queued['id']}.jsonl"]

    assert await run_jobs() == 1

    done = await job(client, queued["id"])
    assert done["status"] == "completed"
    assert (done["total_rows"], done["rows_done"], done["rows_failed"]) == (40, 40, 0)
    assert (done["households_imported"], done["households_failed"]) == (40, 0)
    assert done["progress_percent"] == 100.0
    assert await report(client, queued["id"]) == []
    assert kept(settings) == []  # a finished job's file is not kept
    assert await counts(sessionmaker) == {
        "households": 40,
        "assessments": 40,
        "claims": 0,
        "audit": 40,
        "registered": 40,
        "recorded": 40,
    }


class Sheet:
    """A CSV in the spreadsheet layout, built household by household, remembering its rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, document: dict[str, Any], **changes: Any) -> list[int]:
        """Add a household; `changes` maps "member index.column" or "column" (first row) to a
        value. Its rows' numbers (the header is row 1)."""
        rows = spreadsheet_rows(document)
        for key, value in changes.items():
            index, _, column = key.rpartition(".")
            rows[int(index or 0)][column] = value
        first = len(self.rows) + 2
        self.rows.extend(rows)
        return list(range(first, first + len(rows)))

    def content(self) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[column.name for column in COLUMNS])
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue().encode()


async def test_the_report_of_a_broken_file_names_every_bad_row_and_every_good_row_is_written(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    documents = [d for d in files.documents(40) if len(d["assessment"]["members"]) >= 2][:12]
    sheet, expected, good = Sheet(), set(), []

    def broken(document: dict[str, Any], row: int, field: str, **changes: Any) -> None:
        sheet.add(document, **changes)
        expected.add((row, field))

    good.append(sheet.add(documents[0]))
    rows = sheet.add(documents[1], **{"1.sex": "unknown"})
    expected.add((rows[1], "sex"))
    rows = sheet.add(documents[2], **{"0.birth_date": "2030-01-01", "1.birth_date": "1/13/1990"})
    expected |= {(rows[0], "birth_date"), (rows[1], "birth_date")}
    rows = sheet.add(documents[3], commune_code="99999")
    expected.add((rows[0], "commune_code"))
    good.append(sheet.add(documents[4], **{"1.national_id": "026190000001"}))
    # Taken by the one above: imported all the same, the clash left to supervisors (a conflict).
    good.append(sheet.add(documents[5], **{"0.national_id": "026190000001"}))
    rows = sheet.add(documents[6], **{"0.has_health_insurance": "maybe"})
    expected.add((rows[0], "has_health_insurance"))
    rows = sheet.add(documents[7], **{"0.relation_to_head": "spouse"})  # nobody is the head
    expected.add((rows[0], "relation_to_head"))
    rows = sheet.add(documents[8], floor_area_m2="-5", **{"1.village": "Another village"})
    expected |= {(rows[0], "floor_area_m2"), (rows[1], "village")}
    rows = sheet.add(documents[9], **{"1.attending_school": "yes", "1.school_level": None})
    expected.add((rows[1], "school_level"))
    rows = sheet.add(documents[0])  # the first household again, further down
    expected.add((rows[0], "household_code"))
    good.append(sheet.add(documents[10]))
    accepted = await upload("broken.csv", sheet.content())
    assert accepted.status_code == 202, accepted.text

    await run_jobs()

    job_id = accepted.json()["id"]
    done = await job(client, job_id)
    errors = await report(client, job_id)
    assert {(int(error["row"]), error["field"]) for error in errors} == expected
    assert all(error["message"] for error in errors)
    assert [int(error["row"]) for error in errors] == sorted(int(e["row"]) for e in errors)
    assert done["status"] == "completed"
    assert (done["households_imported"], done["households_failed"]) == (4, 8)
    assert done["rows_done"] == done["total_rows"] == len(sheet.rows)
    assert done["rows_failed"] == len(sheet.rows) - sum(len(rows) for rows in good)
    async with sessionmaker() as session:
        codes = (await session.exec(select(Household.household_code))).all()
        claims = (await session.exec(select(NationalIdClaim.national_id))).all()
        conflicts = (await session.exec(select(NationalIdConflict))).all()
    imported = (0, 4, 5, 10)
    assert sorted(codes) == sorted(documents[i]["household"]["household_code"] for i in imported)
    assert claims == ["026190000001"]
    assert len(conflicts) == 1


async def test_the_report_of_a_broken_json_lines_file_names_lines_and_json_paths(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any
) -> None:
    documents = files.documents(4)
    documents[1]["assessment"]["members"][0]["sex"] = "unknown"
    documents[2]["household"]["commune_code"] = "8707"
    del documents[3]["assessment"]["water_source"]
    content = (
        files.lines(documents[:1])
        + b"{not json\n"
        + b"\n"  # blank lines are skipped, and still counted
        + files.lines(documents[1:])
        + b'{"household": {}, "assessment": {}, "note": "x"}\n'
    )
    accepted = await upload("broken.jsonl", content)

    await run_jobs()

    errors = await report(client, accepted.json()["id"])
    assert [(int(e["row"]), e["field"]) for e in errors] == [
        (2, "line"),
        (4, "assessment.members.0.sex"),
        (5, "household.commune_code"),
        (6, "assessment.water_source"),
        (7, "note"),
        (7, "household.household_code"),
        (7, "household.commune_code"),
        (7, "household.village"),
        (7, "assessment.members"),
        (7, "assessment.dwelling"),
        (7, "assessment.water_source"),
        (7, "assessment.latrine"),
        (7, "assessment.internet_use"),
    ]
    done = await job(client, accepted.json()["id"])
    assert (done["households_imported"], done["households_failed"]) == (1, 5)
    assert done["rows_done"] == done["total_rows"] == 7


async def test_uploading_the_same_file_again_adds_nothing(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await upload("households.jsonl", files.jsonl(30))
    await run_jobs()
    before = await counts(sessionmaker)

    again = await upload("households.jsonl", files.jsonl(30))
    await run_jobs()

    done = await job(client, again.json()["id"])
    assert (done["households_imported"], done["households_skipped"]) == (0, 30)
    assert done["rows_failed"] == 0
    assert await counts(sessionmaker) == before


async def test_a_larger_file_imports_only_the_households_not_yet_surveyed(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    documents = files.documents(30)
    await upload("first.jsonl", files.lines(documents[:12]))
    await run_jobs()

    second = await upload("all.jsonl", files.lines(documents))
    await run_jobs()

    done = await job(client, second.json()["id"])
    assert (done["households_imported"], done["households_skipped"]) == (18, 12)
    assert (await counts(sessionmaker))["households"] == 30
    assert (await counts(sessionmaker))["recorded"] == 30


async def test_a_registered_household_without_a_survey_gets_the_files_survey(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    documents = files.documents(3)
    for document in documents[:2]:
        registered = await client.post("/api/v1/households", json=document["household"])
        assert registered.status_code == 201, registered.text
    documents[1]["household"]["commune_code"] = next(
        c.code for c in files.communes if c.code != documents[1]["household"]["commune_code"]
    )
    before = await counts(sessionmaker)

    accepted = await upload("households.jsonl", files.lines(documents))
    await run_jobs()

    done = await job(client, accepted.json()["id"])
    assert (done["households_imported"], done["households_failed"]) == (2, 1)
    [error] = await report(client, accepted.json()["id"])
    assert (error["row"], error["field"]) == ("2", "household.commune_code")
    assert "registered in commune" in error["message"]
    after = await counts(sessionmaker)
    assert after["households"] == before["households"] + 1
    assert after["registered"] == before["registered"] + 1
    assert after["recorded"] == before["recorded"] + 2


async def test_rows_outside_the_uploaders_units_are_refused_on_commune_code(
    files: Any, upload: Any, run_jobs: Any, as_role: Any
) -> None:
    documents = files.documents(40)
    ours = documents[0]["household"]["commune_code"]
    theirs = next(d for d in documents if d["household"]["commune_code"] != ours)
    enumerator = as_role(Role.ENUMERATOR, ours, subject="enumerator-1")
    mine = [d for d in documents if d["household"]["commune_code"] == ours]

    accepted = await upload("households.jsonl", files.lines([*mine, theirs]), as_client=enumerator)
    assert accepted.status_code == 202, accepted.text
    await run_jobs()

    done = await job(enumerator, accepted.json()["id"])
    assert (done["households_imported"], done["households_failed"]) == (len(mine), 1)
    [error] = await report(enumerator, accepted.json()["id"])
    assert (int(error["row"]), error["field"]) == (len(mine) + 1, "household.commune_code")
    assert "outside your unit scope" in error["message"]


async def test_a_code_registered_outside_the_uploaders_units_is_another_household(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    as_role: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Codes are unique per commune: the row says nothing about the other commune's household."""
    [theirs, mine] = files.documents(2)
    mine["household"]["commune_code"] = next(
        c.code for c in files.communes if c.code != theirs["household"]["commune_code"]
    )
    mine["household"]["household_code"] = theirs["household"]["household_code"]
    assert (await client.post("/api/v1/households", json=theirs["household"])).status_code == 201
    enumerator = as_role(Role.ENUMERATOR, mine["household"]["commune_code"])

    accepted = await upload("households.jsonl", files.lines([mine]), as_client=enumerator)
    await run_jobs()

    done = await job(enumerator, accepted.json()["id"])
    assert (done["households_imported"], done["households_failed"]) == (1, 0)
    assert (await counts(sessionmaker))["households"] == 2


async def test_imports_are_seen_by_whoever_uploaded_them_and_country_wide_callers(
    client: httpx.AsyncClient, files: Any, upload: Any, as_role: Any
) -> None:
    mine = as_role(Role.COMMUNE_OFFICER, "08707", subject="officer-1")
    other = as_role(Role.COMMUNE_OFFICER, "08707", subject="officer-2")
    accepted = await upload("households.jsonl", files.jsonl(2), as_client=mine)
    job_id = accepted.json()["id"]

    assert (await mine.get(f"/api/v1/imports/{job_id}")).status_code == 200
    assert (await other.get(f"/api/v1/imports/{job_id}")).status_code == 404
    assert (await other.get(f"/api/v1/imports/{job_id}/errors.csv")).status_code == 404
    assert (await client.get(f"/api/v1/imports/{job_id}")).status_code == 200
    assert [item["id"] for item in (await mine.get("/api/v1/imports")).json()["items"]] == [job_id]
    assert (await other.get("/api/v1/imports")).json()["total"] == 0
    assert (await client.get("/api/v1/imports")).json()["total"] == 1


async def test_uploads_are_refused_with_the_field_at_fault(
    client: httpx.AsyncClient, files: Any, upload: Any, round_id: str, as_role: Any
) -> None:
    def field_of(response: httpx.Response) -> list[Any]:
        assert response.status_code == 422, response.text
        return [error["loc"] for error in response.json()["errors"]]

    no_file = await client.post("/api/v1/imports", data={"round_id": round_id})
    assert field_of(no_file) == [["body", "file"]]
    no_round = await client.post("/api/v1/imports", files={"file": ("a.jsonl", b"{}")})
    assert field_of(no_round) == [["body", "round_id"]]
    unknown_round = await upload("a.jsonl", files.jsonl(1), into=str(uuid4()))
    assert field_of(unknown_round) == [["body", "round_id"]]
    assert field_of(await upload("a.txt", files.jsonl(1))) == [["body", "file"]]
    assert field_of(await upload("a.jsonl", b"")) == [["body", "file"]]
    assert field_of(await upload("a.jsonl", b"[1, 2]\n")) == [["body", "file"]]
    assert field_of(await upload("a.csv", b"household_code,comune\n1,2\n")) == [["body", "file"]]
    assert field_of(await upload("a.xlsx", b"not a workbook")) == [["body", "file"]]
    assert "Unknown columns: comune" in (await upload("a.csv", b"comune\n")).json()["detail"]
    analyst = as_role(Role.MINISTRY_ANALYST)
    assert (await upload("a.jsonl", files.jsonl(1), as_client=analyst)).status_code == 403
    assert (await client.get(f"/api/v1/imports/{uuid4()}")).status_code == 404
    assert (await client.get("/api/v1/imports")).json()["total"] == 0


async def test_the_templates_import_as_they_are(
    client: httpx.AsyncClient,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    jobs = []
    for extension in ("csv", "xlsx"):
        template = await client.get(f"/api/v1/imports/template.{extension}")
        assert template.status_code == 200
        assert f"households-import-template.{extension}" in template.headers["content-disposition"]
        accepted = await upload(f"template.{extension}", template.content)
        assert accepted.status_code == 202, accepted.text
        jobs.append(accepted.json()["id"])

    await run_jobs()

    first, second = [await job(client, job_id) for job_id in jobs]
    assert (first["households_imported"], first["rows_failed"]) == (1, 0)
    assert (second["households_skipped"], second["rows_failed"]) == (1, 0)
    assert first["rows_done"] == first["total_rows"] == second["total_rows"] == 2
    async with sessionmaker() as session:
        [assessment] = (await session.exec(select(Assessment))).all()
    assert [member["relation_to_head"] for member in assessment.members] == ["head", "child"]


async def test_a_compressed_file_is_imported_as_the_file_it_holds(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any
) -> None:
    compressed = await upload("households.csv.gz", gzip.compress(files.csv(files.documents(5))))
    assert compressed.status_code == 202, compressed.text
    assert compressed.json()["format"] == "csv"
    broken = await upload("households.jsonl.gz", b"not gzip at all")
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["loc"] == ["body", "file"]

    await run_jobs()

    done = await job(client, compressed.json()["id"])
    assert (done["households_imported"], done["rows_failed"]) == (5, 0)


async def test_the_imports_events_are_the_ones_the_api_would_stage(
    files: Any, upload: Any, run_jobs: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await upload("households.jsonl", files.jsonl(6))
    await run_jobs()

    async with sessionmaker() as session:
        envelopes = (
            await session.exec(select(outbox.c.envelope).order_by(outbox.c.position))
        ).all()
        staged = {envelope["subject"]: envelope for envelope in envelopes}
        # The registrations and the surveys come in one message each for the batch, each as
        # its own event would carry it; the registrations first.
        about_households = [e for e in envelopes if e["type"] in (REGISTERED_BATCH, BATCH)]
        assert [envelope["type"] for envelope in about_households] == [REGISTERED_BATCH, BATCH]
        registrations, batch = about_households
        assert registrations["subject"] == batch["subject"]
        assert batch["subject"].startswith("import:")
        assert registrations["sequence"] == batch["sequence"] == 1
        for item in registrations["data"]["households"]:
            staged[item["household_id"]] = {
                "type": REGISTERED,
                "data": item,
                "sequence": item["version"],
                "actor": registrations["actor"],
            }
        for item in batch["data"]["assessments"]:
            staged[item["assessment"]["assessment_id"]] = {
                "type": RECORDED,
                "data": item["assessment"],
                "sequence": item["sequence"],
                "actor": batch["actor"],
            }
        surveys = (await session.exec(select(Assessment))).all()
        for survey in surveys:
            household = await session.get(Household, survey.household_id)
            review_round = await session.get(ReviewRound, survey.round_id)
            commune = await unit_service.get_commune(
                session, survey.commune_code, on=REFERENCE_DATE
            )
            assert household is not None
            assert review_round is not None
            assert commune is not None
            for expected in (
                events.household_registered(household),
                events.assessment_recorded(
                    AssessmentInput.model_validate(
                        {field: getattr(survey, field) for field in AssessmentInput.model_fields}
                    ),
                    assessment_id=survey.id,
                    version=survey.version,
                    household=household,
                    review_round=review_round,
                    commune=commune,
                ),
            ):
                found = staged[expected.subject]
                assert found["type"] == expected.type
                assert found["data"] == expected.model_dump(mode="json")["data"]
                assert found["sequence"] == expected.sequence
                assert found["actor"] == "test-admin"
    assert len(surveys) == 6


async def test_a_code_surveyed_in_another_commune_fails_rather_than_being_skipped(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any
) -> None:
    documents = files.documents(2)
    await upload("first.jsonl", files.lines(documents))
    await run_jobs()
    elsewhere = documents[0]["household"]["commune_code"]
    moved = next(c.code for c in files.communes if c.code != elsewhere)
    documents[0]["household"]["commune_code"] = moved

    again = await upload("again.jsonl", files.lines(documents))
    await run_jobs()

    done = await job(client, again.json()["id"])
    assert (done["households_skipped"], done["households_failed"]) == (1, 1)
    [error] = await report(client, again.json()["id"])
    assert (error["row"], error["field"]) == ("1", "household.commune_code")


async def test_a_file_unreadable_half_way_fails_after_importing_the_households_before_it(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    documents = files.documents(10)
    rows = files.csv(documents)
    content = rows + b"VY-9," + b"x" * 200_000 + b"\n" + rows.partition(b"\n")[2]
    accepted = await upload("households.csv", content)
    assert accepted.status_code == 202, accepted.text

    await run_jobs()

    done = await job(client, accepted.json()["id"])
    assert done["status"] == "failed"
    rows_before = len(rows.splitlines()) - 1
    assert done["error"].startswith(f"Row {rows_before + 2} cannot be read: field larger")
    # Not the last household before it: its rows may go on in the part that cannot be read.
    assert done["households_imported"] == 9
    assert (await counts(sessionmaker))["households"] == 9
