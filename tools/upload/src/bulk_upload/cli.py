"""`python -m bulk_upload`: upload a bulk-import file and follow its job to the end.

    python -m bulk_upload upload households.jsonl --round ROUND_ID
    python -m bulk_upload status IMPORT_ID

against the gateway (`--url`, default http://127.0.0.1:8000), as a user (`--username`, the
password from POVERTY_PASSWORD or asked for), with an API key (`--api-key` or POVERTY_API_KEY) or
with an access token (`--token` or POVERTY_TOKEN). A progress bar shows the upload, then the
import; at the end the summary is printed and the error report, if any row failed, is saved
beside the file (or where `--errors` says). Files other than XLSX are sent gzip-compressed.

Exit status: 0 when every row was imported or skipped, 1 when some rows failed (see the report),
2 when the upload was refused or the import could not finish.
"""

import argparse
import getpass
import gzip
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

IMPORTS = "/api/v1/imports"
TOKEN = "/api/v1/auth/token"
FINISHED = {"completed", "failed"}

console = Console(stderr=True)


class Refused(Exception):
    """The API said no; the message says why, with the fields at fault."""


# --- Credentials ----------------------------------------------------------------------------------


class Credentials(httpx.Auth):
    """A bearer token (logging in with a username and password, refreshed when it expires), or an
    API key that the gateway exchanges for a token on each request."""

    def __init__(self, arguments: argparse.Namespace) -> None:
        self._token: str | None = arguments.token or os.environ.get("POVERTY_TOKEN")
        self._api_key: str | None = arguments.api_key or os.environ.get("POVERTY_API_KEY")
        self._username: str | None = arguments.username
        self._password: str | None = None
        self._refresh: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._api_key:
            request.headers["X-API-Key"] = self._api_key
            yield request
            return
        if self._token is None and self._username:
            yield from self._log_in(request, self._password_grant())
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 and self._refresh:
            yield from self._log_in(request, self._refresh_grant())
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _password_grant(self) -> dict[str, str]:
        if self._password is None:
            self._password = os.environ.get("POVERTY_PASSWORD") or getpass.getpass(
                f"Password for {self._username}: "
            )
        return {
            "grant_type": "password",
            "username": self._username or "",
            "password": self._password,
        }

    def _refresh_grant(self) -> dict[str, str]:
        return {"grant_type": "refresh_token", "refresh_token": self._refresh or ""}

    def _log_in(
        self, request: httpx.Request, form: dict[str, str]
    ) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield httpx.Request(
            "POST", request.url.copy_with(path=TOKEN, query=None), data=form
        )
        response.read()
        if response.status_code != 200:
            raise Refused(f"Logging in failed: {_problem(response)}")
        tokens = response.json()
        self._token, self._refresh = tokens["access_token"], tokens.get("refresh_token")


# --- Upload and follow ----------------------------------------------------------------------------


def upload(
    client: httpx.Client, path: Path, round_id: str, compress: bool | None
) -> dict[str, Any]:
    """Send the file (compressed unless it is a workbook); the job the API queued."""
    if compress is None:
        compress = path.suffix.lower() not in (".xlsx", ".gz")
    with _compressed(path) if compress else _as_is(path) as (name, file, size):
        with _progress(transfer=True) as progress:
            task = progress.add_task(f"Uploading {path.name}", total=size)
            reader = _Counting(file, progress, task)
            response = client.post(
                IMPORTS,
                files={"file": (name, reader)},  # type: ignore[dict-item]
                data={"round_id": round_id},
                timeout=httpx.Timeout(30.0, write=None, read=600.0),
            )
    if response.status_code != 202:
        raise Refused(f"The upload was refused: {_problem(response)}")
    return dict(response.json())


def follow(client: httpx.Client, job: dict[str, Any], *, poll_seconds: float) -> dict[str, Any]:
    """Show the job's progress until it ends; the finished job."""
    with _progress(transfer=False) as progress:
        task = progress.add_task("Importing", total=job.get("total_rows") or None)
        while True:
            progress.update(
                task,
                total=job.get("total_rows") or None,
                completed=job["rows_done"],
                description=(
                    f"{job['status'].capitalize()}: {job['households_imported']:,} imported, "
                    f"{job['households_skipped']:,} skipped, {job['rows_failed']:,} rows failed"
                ),
            )
            if job["status"] in FINISHED:
                return job
            time.sleep(poll_seconds)
            response = client.get(f"{IMPORTS}/{job['id']}")
            if response.status_code != 200:
                raise Refused(f"The import's status cannot be read: {_problem(response)}")
            job = response.json()


def report(client: httpx.Client, job: dict[str, Any], errors: Path) -> None:
    with client.stream("GET", job["errors_url"]) as response, errors.open("wb") as out:
        if response.status_code != 200:
            raise Refused(f"The error report cannot be read: {_problem(response)}")
        for chunk in response.iter_bytes():
            out.write(chunk)


def summary(job: dict[str, Any]) -> str:
    lines = [
        f"Import {job['id']} {job['status']} ({job['filename']}).",
        f"  households imported: {job['households_imported']:,}",
        f"  households skipped (already surveyed in the round): {job['households_skipped']:,}",
        f"  households failed: {job['households_failed']:,} "
        f"({job['rows_failed']:,} of {job['rows_done']:,} rows)",
    ]
    if job.get("error"):
        lines.append(f"  stopped: {job['error']}")
    return "\n".join(lines)


# --- Helpers --------------------------------------------------------------------------------------


@contextmanager
def _as_is(path: Path) -> Iterator[tuple[str, IO[bytes], int]]:
    with path.open("rb") as file:
        yield path.name, file, path.stat().st_size


@contextmanager
def _compressed(path: Path) -> Iterator[tuple[str, IO[bytes], int]]:
    with tempfile.TemporaryFile() as packed:
        with console.status(f"Compressing {path.name}"):
            with (
                path.open("rb") as source,
                gzip.GzipFile(fileobj=packed, mode="wb", compresslevel=5) as out,
            ):
                shutil.copyfileobj(source, out, length=1 << 20)
        size = packed.tell()
        packed.seek(0)
        yield f"{path.name}.gz", packed, size


class _Counting:
    """A file that moves a progress bar as it is read."""

    def __init__(self, file: IO[bytes], progress: Progress, task: TaskID) -> None:
        self._file, self._progress, self._task = file, progress, task

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._progress.advance(self._task, len(chunk))
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def _progress(*, transfer: bool) -> Progress:
    columns = (
        (DownloadColumn(), TransferSpeedColumn())
        if transfer
        else (MofNCompleteColumn(), TextColumn("rows"))
    )
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        *columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    fields = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
        for error in body.get("errors", [])
    )
    detail = body.get("detail") or body.get("title") or response.reason_phrase
    return f"{response.status_code} {detail}" + (f" ({fields})" if fields else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bulk_upload", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway (or service)")
    parser.add_argument("--username", help="log in as this user (password: POVERTY_PASSWORD)")
    parser.add_argument("--api-key", help="an API key (default: POVERTY_API_KEY)")
    parser.add_argument("--token", help="an access token (default: POVERTY_TOKEN)")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("upload", help="upload a file and follow its import")
    send.add_argument("file", type=Path, help=".csv, .xlsx or .jsonl (optionally .gz)")
    send.add_argument("--round", required=True, help="the review round's id")
    send.add_argument("--errors", type=Path, help="where to save the error report")
    packing = send.add_mutually_exclusive_group()
    packing.add_argument("--gzip", dest="compress", action="store_true", default=None)
    packing.add_argument("--no-gzip", dest="compress", action="store_false")
    watch = commands.add_parser("status", help="follow an import already uploaded")
    watch.add_argument("import_id")
    watch.add_argument("--errors", type=Path, help="where to save the error report")
    arguments = parser.parse_args(argv)

    with httpx.Client(base_url=arguments.url, auth=Credentials(arguments), timeout=30) as client:
        try:
            if arguments.command == "upload":
                if not arguments.file.is_file():
                    parser.error(f"no file {arguments.file}")
                job = upload(client, arguments.file, arguments.round, arguments.compress)
                errors = arguments.errors or arguments.file.with_name(
                    f"{arguments.file.name}.errors.csv"
                )
            else:
                response = client.get(f"{IMPORTS}/{arguments.import_id}")
                if response.status_code != 200:
                    raise Refused(f"No such import: {_problem(response)}")
                job = response.json()
                errors = arguments.errors or Path(f"import-{arguments.import_id}-errors.csv")
            job = follow(client, job, poll_seconds=arguments.poll_seconds)
            print(summary(job))  # noqa: T201 - the command's output
            if job["rows_failed"]:
                report(client, job, errors)
                print(f"  error report (row, field, message): {errors}")  # noqa: T201
        except Refused as refused:
            console.print(f"[red]{refused}[/red]")
            return 2
        except httpx.HTTPError as error:
            console.print(f"[red]Cannot reach {arguments.url}: {error}[/red]")
            return 2
    if job["status"] != "completed":
        return 2
    return 1 if job["rows_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
