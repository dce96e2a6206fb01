"""Bulk import of support records (CSV or XLSX) through the import job: written through the one
write path of support records, a batch at a time (one `households.support.recorded.v1` message
each), every bad row named in the job's error report, a re-upload changing nothing."""

import csv
import io
from datetime import date
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.db import outbox
from households.imports.support_layout import COLUMNS
from households.support.models import SupportRecord

from .conftest import BATCH_SIZE, Runner

QUANG_SON = "08764"
FIELDS = [column.name for column in COLUMNS]


async def _team_member(client: httpx.AsyncClient, commune: str = QUANG_SON) -> str:
    teams = f"/api/v1/communes/{commune}/digital-teams"
    team = await client.post(
        teams, json={"name": "Tổ CNS", "villages": ["Thôn 1"], "active_from": "2024-01-01"}
    )
    assert team.status_code == 201, team.text
    member = await client.post(
        f"{teams}/{team.json()['id']}/members", json={"full_name": "Lê Văn An", "role": "Tổ viên"}
    )
    assert member.status_code == 201, member.text
    return str(member.json()["id"])


async def _households(client: httpx.AsyncClient, count: int) -> list[str]:
    codes = []
    for number in range(count):
        code = f"SUP-{number:03d}"
        household = {"household_code": code, "commune_code": QUANG_SON, "village": "Thôn 1"}
        response = await client.post("/api/v1/households", json=household)
        assert response.status_code == 201, response.text
        codes.append(code)
    return codes


def _row(code: str, member_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "household_code": code,
        "commune_code": QUANG_SON,
        "kind": "device_given",
        "device": "smartphone",
        "subscription_months": "",
        "given_on": date.today().isoformat(),
        "member_id": member_id,
        "note": "",
    } | changes


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def _upload(client: httpx.AsyncClient, name: str, content: bytes) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/imports", files={"file": (name, content)}, data={"kind": "support"}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert (body["kind"], body["round_id"]) == ("support", None)
    return body


async def _report(client: httpx.AsyncClient, job_id: str) -> list[list[str]]:
    text = (await client.get(f"/api/v1/imports/{job_id}/errors.csv")).text.lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))[1:]


async def _messages(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    async with sessionmaker() as session:
        statement = select(outbox.c.envelope).where(
            outbox.c.type == "households.support.recorded.v1"
        )
        return list((await session.exec(statement.order_by(outbox.c.position))).all())


async def _records(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return (await session.exec(select(func.count()).select_from(SupportRecord))).one()


async def test_a_file_with_bad_rows_names_each_and_writes_the_others_a_batch_a_message(
    client: httpx.AsyncClient, run_jobs: Runner, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    member = await _team_member(client)
    foreign = await _team_member(client, "08770")
    codes = await _households(client, 10)
    tomorrow = date.fromordinal(date.today().toordinal() + 1).isoformat()
    rows = [_row(code, member) for code in codes]
    rows[1] = _row(codes[1], member, given_on=tomorrow)  # row 3
    rows[3] = _row(codes[3], foreign)  # row 5: another commune's member
    rows[4] = _row(codes[4], member, device="")  # row 6: a device given names it
    rows[6] = _row("NOBODY", member)  # row 8: no such household
    rows[8] = _row(codes[8], member, kind="a gift")  # row 10: not a kind
    rows.append(
        _row(codes[9], member, kind="internet_subscription", device="", subscription_months="12")
    )

    job = await _upload(client, "support.csv", _csv(rows))
    assert await run_jobs() == 1

    done = (await client.get(f"/api/v1/imports/{job['id']}")).json()
    assert done["status"] == "completed"
    assert (done["households_imported"], done["households_failed"]) == (6, 5)
    assert (done["rows_done"], done["rows_failed"]) == (11, 5)
    report = await _report(client, job["id"])
    assert [(row, field) for row, field, _ in report] == [
        ("3", "given_on"),
        ("5", "member_id"),
        ("6", "device"),
        ("8", "household_code"),
        ("10", "kind"),
    ]
    assert await _records(sessionmaker) == 6
    messages = await _messages(sessionmaker)
    assert len(messages) == -(-11 // BATCH_SIZE)  # one a batch: every batch has a good row
    assert sum(len(m["data"]["records"]) for m in messages) == 6
    assert all(m["subject"].startswith("support:") and m["sequence"] == 1 for m in messages)


async def test_uploading_the_same_file_again_adds_nothing(
    client: httpx.AsyncClient, run_jobs: Runner, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    member = await _team_member(client)
    content = _csv([_row(code, member) for code in await _households(client, 3)])

    await _upload(client, "support.csv", content)
    await run_jobs()
    again = await _upload(client, "support.csv", content)
    await run_jobs()

    done = (await client.get(f"/api/v1/imports/{again['id']}")).json()
    assert (done["households_imported"], done["households_skipped"]) == (0, 3)
    assert await _records(sessionmaker) == 3
    assert len(await _messages(sessionmaker)) == 1


async def test_an_xlsx_file_in_the_template_layout_imports(
    client: httpx.AsyncClient, run_jobs: Runner, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    member = await _team_member(client)
    [code] = await _households(client, 1)
    template = await client.get("/api/v1/imports/template.xlsx", params={"kind": "support"})
    workbook = load_workbook(io.BytesIO(template.content))
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header == FIELDS
    filled = Workbook()
    out_sheet = filled.active
    assert out_sheet is not None
    out_sheet.append(header)
    out_sheet.append([_row(code, member)[name] or None for name in FIELDS])
    out = io.BytesIO()
    filled.save(out)

    job = await _upload(client, "support.xlsx", out.getvalue())
    await run_jobs()

    done = (await client.get(f"/api/v1/imports/{job['id']}")).json()
    assert (done["status"], done["households_imported"]) == ("completed", 1)
    assert await _records(sessionmaker) == 1


async def test_the_csv_template_has_the_layouts_columns(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/imports/template.csv", params={"kind": "support"})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == FIELDS
    assert len(rows) == 3


async def test_a_support_file_in_the_survey_layout_is_refused_naming_file(
    client: httpx.AsyncClient,
) -> None:
    content = b"household_code,commune_code,village\r\nX,08764,Thon 1\r\n"
    response = await client.post(
        "/api/v1/imports", files={"file": ("s.csv", content)}, data={"kind": "support"}
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "file"]


async def test_a_survey_import_still_needs_its_round(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/imports", files={"file": ("h.jsonl", b"{}\n")})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "round_id"]
