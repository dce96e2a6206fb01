"""Uploads are bounded by what they expand to. Each bomb is made here, small on disk; each is
refused naming the limit it passes, at upload (413) when that can be known from the upload, or
by failing its job before a row is imported; memory stays bounded while they are refused."""

import gzip
import io
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from households.config import Settings
from households.imports import service as import_service
from households.imports.limits import LimitExceeded, Limits, lines

MIB = 1 << 20
SHARED_STRINGS = "xl/sharedStrings.xml"

Limit = Callable[..., None]


@pytest.fixture
def limit(settings: Settings) -> Limit:
    """Lower (or raise) import limits of the app under test, e.g. `limit(IMPORT_MAX_ROWS=10)`."""

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            setattr(settings, name, value)

    return set_limits


def gzipped(parts: Iterable[bytes]) -> bytes:
    """A gzip file of `parts`, compressed as they come (the whole is never in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    return b"".join(compressor.compress(part) for part in parts) + compressor.flush()


def refused(response: httpx.Response, setting: str) -> str:
    assert response.status_code == 413, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert setting in problem["detail"]
    assert problem["errors"] == [{"loc": ["body", "file"], "msg": problem["detail"]}]
    return str(problem["detail"])


def kept(settings: Settings) -> list[Path]:
    folder = Path(settings.IMPORT_DIR)
    return list(folder.iterdir()) if folder.exists() else []


class CountingGzipFile(gzip.GzipFile):
    """gzip.GzipFile, adding up the bytes it inflates (how far a bomb got before its refusal)."""

    inflated = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        CountingGzipFile.inflated += len(data)
        return data


@pytest.fixture
def inflated(monkeypatch: pytest.MonkeyPatch) -> type[CountingGzipFile]:
    CountingGzipFile.inflated = 0
    monkeypatch.setattr(import_service.gzip, "GzipFile", CountingGzipFile)
    return CountingGzipFile


async def test_a_gzip_bomb_is_refused_on_its_ratio_before_it_is_inflated(
    files: Any, upload: Any, settings: Settings, inflated: type[CountingGzipFile]
) -> None:
    # Valid lines, then 256 MiB of blank lines: about 250 KB compressed.
    bomb = gzipped([files.jsonl(2), *(b"\n" * MIB for _ in range(256))])
    assert len(bomb) < MIB

    detail = refused(await upload("households.jsonl.gz", bomb), "IMPORT_MAX_COMPRESSION_RATIO")

    assert "inflates more than 100 times" in detail
    assert inflated.inflated < 64 * MIB  # stopped at a fraction of what it holds
    assert kept(settings) == []  # nothing of it stays on disk


async def test_a_compressed_line_without_end_is_refused_in_bounded_memory(
    files: Any, upload: Any, settings: Settings, inflated: type[CountingGzipFile]
) -> None:
    # One line of 128 MiB after a valid one, never ended: about 130 KB compressed.
    bomb = gzipped([files.jsonl(1), *(b"x" * MIB for _ in range(128))])
    tracemalloc.start()
    try:
        response = await upload("households.jsonl.gz", bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    detail = refused(response, "IMPORT_MAX_LINE_BYTES")
    assert detail.startswith("Line 2 is longer than allowed")
    assert peak < 16 * MIB  # the line is never held whole
    assert inflated.inflated <= 3 * MIB
    assert kept(settings) == []


async def test_an_uncompressed_long_line_is_refused(files: Any, upload: Any, limit: Limit) -> None:
    limit(IMPORT_MAX_LINE_BYTES=16_384)
    documents = files.documents(3)
    documents[1]["household"]["address"] = "x" * 20_000
    refused(await upload("households.jsonl", files.lines(documents)), "IMPORT_MAX_LINE_BYTES")
    refused(await upload("households.csv", files.csv(documents)), "IMPORT_MAX_LINE_BYTES")
    documents[1]["household"]["address"] = "x" * 5_000
    assert (await upload("households.jsonl", files.lines(documents))).status_code == 202


async def test_more_rows_or_bytes_than_allowed_are_refused(
    files: Any, upload: Any, limit: Limit
) -> None:
    limit(IMPORT_MAX_ROWS=5)
    assert (await upload("five.jsonl", files.jsonl(5))).status_code == 202
    refused(await upload("six.jsonl", files.jsonl(6)), "IMPORT_MAX_ROWS")
    refused(await upload("six.jsonl.gz", gzip.compress(files.jsonl(6))), "IMPORT_MAX_ROWS")
    refused(await upload("many.csv", files.csv(files.documents(5))), "IMPORT_MAX_ROWS")

    limit(IMPORT_MAX_ROWS=1000, IMPORT_MAX_BYTES=10_000)
    refused(await upload("big.jsonl.gz", gzip.compress(files.jsonl(20))), "IMPORT_MAX_BYTES")


def workbook_with(content: bytes, part: str, parts: Iterable[bytes]) -> bytes:
    """The workbook `content` with its `part` replaced by `parts`, compressed as they come."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename == part:
                continue
            target.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo(part)
        info.compress_type = zipfile.ZIP_DEFLATED
        with target.open(info, "w") as stream:
            for chunk in parts:
                stream.write(chunk)
    return out.getvalue()


def shared_strings(count: int, per_chunk: int = 100_000) -> Iterable[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    yield b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    for start in range(0, count, per_chunk):
        yield b"<si><t>x</t></si>" * min(per_chunk, count - start)
    yield b"</sst>"


@pytest.fixture
def workbooks_parsed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The workbooks that reached openpyxl at upload (in a process of their own)."""
    calls: list[tuple[Any, ...]] = []
    original = import_service._in_a_process

    def spy(check: Callable[..., None], *arguments: object) -> None:
        calls.append((check, *arguments))
        original(check, *arguments)

    monkeypatch.setattr(import_service, "_in_a_process", spy)
    return calls


async def test_a_workbook_of_millions_of_shared_strings_is_refused_before_it_is_parsed(
    files: Any, upload: Any, workbooks_parsed: list[tuple[Any, ...]]
) -> None:
    template = files.xlsx(files.documents(1))
    bomb = workbook_with(template, SHARED_STRINGS, shared_strings(6_000_000))
    assert len(bomb) < 1 * MIB

    detail = refused(await upload("households.xlsx", bomb), "IMPORT_MAX_COMPRESSION_RATIO")

    assert f"Part {SHARED_STRINGS} inflates" in detail
    assert workbooks_parsed == []  # openpyxl never saw it


async def test_shared_strings_are_counted_from_the_archive(
    files: Any, upload: Any, limit: Limit, workbooks_parsed: list[tuple[Any, ...]]
) -> None:
    limit(IMPORT_MAX_COMPRESSION_RATIO=1_000_000, IMPORT_MAX_SHARED_STRINGS=50_000)
    template = files.xlsx(files.documents(1))
    bomb = workbook_with(template, SHARED_STRINGS, shared_strings(200_000))

    refused(await upload("households.xlsx", bomb), "IMPORT_MAX_SHARED_STRINGS")
    assert workbooks_parsed == []

    limit(IMPORT_MAX_SHARED_STRINGS=1_000_000, IMPORT_MAX_XLSX_PART_BYTES=1_000_000)
    refused(await upload("households.xlsx", bomb), "IMPORT_MAX_XLSX_PART_BYTES")
    assert workbooks_parsed == []


async def test_a_workbook_is_parsed_in_a_process_of_its_own(
    files: Any, upload: Any, workbooks_parsed: list[tuple[Any, ...]]
) -> None:
    accepted = await upload("households.xlsx", files.xlsx(files.documents(2)))
    assert accepted.status_code == 202, accepted.text
    [(check, _, file_format, _, kind)] = workbooks_parsed
    assert (check.__name__, file_format.value, kind.value) == ("check", "xlsx", "surveys")
    misspelt = Workbook()
    assert misspelt.active is not None
    misspelt.active.append(["household_code", "comune"])
    content = io.BytesIO()
    misspelt.save(content)
    broken = await upload("households.xlsx", content.getvalue())
    assert broken.status_code == 422  # found in the process, and said
    assert "Unknown columns: comune" in broken.json()["detail"]
    assert len(workbooks_parsed) == 2


async def test_a_workbook_of_more_rows_or_cells_than_allowed_fails_before_importing(
    client: httpx.AsyncClient, files: Any, upload: Any, run_jobs: Any, limit: Limit
) -> None:
    workbook = files.xlsx(files.documents(10))  # more than 12 rows, of 31 cells
    for setting, value in (("IMPORT_MAX_ROWS", 12), ("IMPORT_MAX_CELLS", 300)):
        limit(**{setting: value})
        accepted = await upload("households.xlsx", workbook)
        assert accepted.status_code == 202, accepted.text  # known once the job reads the sheet
        await run_jobs()
        limit(IMPORT_MAX_ROWS=10_000_000, IMPORT_MAX_CELLS=40_000_000)
        done = (await client.get(f"/api/v1/imports/{accepted.json()['id']}")).json()
        assert done["status"] == "failed"
        assert setting in done["error"]
        assert done["households_imported"] == 0


def test_a_long_line_is_refused_without_reading_it_whole() -> None:
    limits = Limits.of(Settings(IMPORT_MAX_LINE_BYTES=1024))
    content = io.BytesIO(b"short\n" + b"x" * (64 * MIB))
    read = lines(content, limits)
    assert next(read) == b"short\n"
    with pytest.raises(LimitExceeded, match="IMPORT_MAX_LINE_BYTES"):
        next(read)
    assert content.tell() <= 6 + 1025
