"""Rules of the bulk import that the API enforces as well: a national ID given twice in one
household, and a commune that is none on the round's date (named with its successor). Uploads
are kept for their owner only."""

import csv
import io
import stat
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.household.models import Household, NationalIdClaim
from households.imports.layout import COLUMNS, spreadsheet_rows


async def _report(client: httpx.AsyncClient, job_id: str) -> list[dict[str, str]]:
    response = await client.get(f"/api/v1/imports/{job_id}/errors.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _csv(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[column.name for column in COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def test_a_national_id_given_twice_in_one_household_fails_that_household(
    client: httpx.AsyncClient,
    files: Any,
    upload: Any,
    run_jobs: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    read_in: str,
) -> None:
    documents = [d for d in files.documents(40) if len(d["assessment"]["members"]) >= 3][:2]
    twice, other = (spreadsheet_rows(document) for document in documents)
    twice[0]["national_id"] = twice[2]["national_id"] = "026190000042"
    accepted = await upload("households.csv", _csv(twice + other))
    assert accepted.status_code == 202, accepted.text

    await run_jobs()

    job_id = accepted.json()["id"]
    done = (await client.get(f"/api/v1/imports/{job_id}")).json()
    assert done["status"] == "completed"
    assert (done["households_imported"], done["households_failed"]) == (1, 1)
    [error] = await _report(client, job_id)
    # The header is row 1: the household's third member is on row 4.
    assert (error["row"], error["field"]) == ("4", "national_id")
    assert "members 1 and 3" in error["message"]
    async with sessionmaker() as session:
        codes = (await session.exec(select(Household.household_code))).all()
        claims = (await session.exec(select(NationalIdClaim.national_id))).all()
    assert codes == [documents[1]["household"]["household_code"]]
    assert "026190000042" not in claims


async def test_an_upload_is_kept_for_the_owner_only(files: Any, upload: Any, settings: Any) -> None:
    accepted = await upload("households.jsonl", files.jsonl(1))
    assert accepted.status_code == 202, accepted.text
    assert modes(Path(settings.IMPORT_DIR)) == [0o700, 0o600]


def modes(folder: Path) -> list[int]:
    """The folder's mode and its files'."""
    return [stat.S_IMODE(path.stat().st_mode) for path in (folder, *folder.iterdir())]


async def test_a_commune_merged_before_the_rounds_date_is_refused_naming_its_successor(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any
) -> None:
    """As the API says it: the row names the date and the commune that took over."""
    round_in = {"year": 2026, "reference_date": "2026-01-15", "standard_id": "VN-2022-2025"}
    round_2026 = (await client.post("/api/v1/rounds", json=round_in)).json()["id"]
    [document] = files.documents(1)
    document["household"]["commune_code"] = "08731"  # Thanh Trù, merged into 08707 in 2025
    content = (httpx.Response(200, json=document).text + "\n").encode()
    accepted = await upload("households.jsonl", content, into=round_2026)
    assert accepted.status_code == 202, accepted.text

    await run_jobs()

    [error] = await _report(client, accepted.json()["id"])
    assert error["field"] == "household.commune_code"
    assert error["message"] == (
        "No commune '08731' exists on 2026-01-15; "
        "it was merged into 08707 (Phường Vĩnh Yên) on 2025-07-01."
    )
