"""Fixtures of the bulk-import tests: an upload folder and small batches, a round, Vĩnh Phúc's
communes, synthetic files in every layout, and a way to run the queued jobs to the end."""

import csv
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from households.config import Settings
from households.imports import service as import_service
from households.imports.layout import COLUMNS, SHEET, spreadsheet_rows
from households.imports.limits import Limits
from households.imports.service import BatchHook
from kit.db import make_engine, make_sessionmaker
from synthetic import REFERENCE_DATE, Commune, generate, province_communes
from synthetic.files import household_line

BATCH_SIZE = 7

Runner = Callable[..., Awaitable[int]]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"IMPORT_DIR": str(tmp_path / "imports"), "IMPORT_BATCH_SIZE": BATCH_SIZE}
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def communes(seeded_database: Path) -> list[Commune]:
    engine = make_engine(f"sqlite+aiosqlite:///{seeded_database}")
    try:
        async with make_sessionmaker(engine)() as session:
            return await province_communes(session, "26")
    finally:
        await engine.dispose()


@pytest.fixture
async def round_id(client: httpx.AsyncClient) -> str:
    round_in = {
        "year": REFERENCE_DATE.year,
        "reference_date": REFERENCE_DATE.isoformat(),
        "standard_id": "VN-2022-2025",
    }
    response = await client.post("/api/v1/rounds", json=round_in)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class Files:
    """Files of synthetic households in each layout."""

    def __init__(self, communes: list[Commune]) -> None:
        self.communes = communes

    def documents(self, households: int, seed: int = 7) -> list[Any]:
        """The generator's households as the JSON-lines layout's documents."""
        return [
            {
                "household": item.household.model_dump(mode="json"),
                "assessment": item.assessment.model_dump(mode="json"),
            }
            for item in generate(self.communes, households=households, seed=seed)
        ]

    def jsonl(self, households: int, seed: int = 7) -> bytes:
        """Exactly what `python -m synthetic` writes to households.jsonl."""
        items = generate(self.communes, households=households, seed=seed)
        return "".join(household_line(item) for item in items).encode()

    @staticmethod
    def lines(documents: list[Any]) -> bytes:
        return "".join(json.dumps(document) + "\n" for document in documents).encode()

    @staticmethod
    def csv(documents: list[Any]) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[column.name for column in COLUMNS])
        writer.writeheader()
        for document in documents:
            writer.writerows(spreadsheet_rows(document))
        return out.getvalue().encode()

    @staticmethod
    def xlsx(documents: list[Any]) -> bytes:
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.title = SHEET
        sheet.append([column.name for column in COLUMNS])
        for document in documents:
            for row in spreadsheet_rows(document):
                sheet.append(list(row.values()))
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()


@pytest.fixture
def files(communes: list[Commune]) -> Files:
    return Files(communes)


Uploader = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def upload(client: httpx.AsyncClient, round_id: str) -> Uploader:
    """POST a file to /api/v1/imports (as the admin, into the round, unless told otherwise)."""

    async def post(
        name: str,
        content: bytes,
        *,
        as_client: httpx.AsyncClient | None = None,
        into: str | None = None,
    ) -> httpx.Response:
        return await (as_client or client).post(
            "/api/v1/imports",
            files={"file": (name, content)},
            data={"round_id": into or round_id},
        )

    return post


@pytest.fixture
def run_jobs(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Runner:
    """Run every claimable job to its end, as a runner would; how many runs there were."""

    async def run(*, after_batch: BatchHook | None = None, lease_seconds: float = 60.0) -> int:
        runs = 0
        while claim := await import_service.claim_next(sessionmaker, lease_seconds=lease_seconds):
            await import_service.run(
                sessionmaker,
                claim,
                directory=Path(settings.IMPORT_DIR),
                batch_size=settings.IMPORT_BATCH_SIZE,
                limits=Limits.of(settings),
                after_batch=after_batch,
            )
            runs += 1
        return runs

    return run


@pytest.fixture(params=["a thread", "a process"])
def read_in(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where a job's file is read and checked: a thread, or (a large file) a process of its own;
    these tests' files are small, so the process is chosen by lowering the size it starts at."""
    if request.param == "a process":
        monkeypatch.setattr(import_service, "READ_IN_A_PROCESS_FROM_BYTES", 0)
    return str(request.param)
