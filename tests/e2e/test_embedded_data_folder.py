"""The embedded platform's data folder holds password hashes, signing keys and households'
personal data: the folder and every file in it are for the owner only, also when an earlier run
(or an older version) left them readable by others."""

import stat
from pathlib import Path

from launcher.embedded import running_platform

DATABASES = ("households.db", "indicators.db", "notifications.db", "gateway.db")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def loose(data_dir: Path) -> dict[str, int]:
    """The folder and files whose mode lets anyone but the owner in."""
    found = {".": mode(data_dir)} if mode(data_dir) & 0o077 else {}
    for path in data_dir.iterdir():
        if path.is_file() and mode(path) & 0o077:
            found[path.name] = mode(path)
    return found


async def test_a_new_data_folder_and_its_files_are_the_owners_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_platform(data_dir) as platform:
        async with platform.client() as client:
            assert (await client.get("/api/v1/rounds")).status_code == 200
        files = {path.name for path in data_dir.iterdir() if path.is_file()}
        assert {*DATABASES, "signing-key.pem"} <= files
        # SQLite gives the write-ahead log and its index the database's own mode.
        assert {"households.db-wal", "households.db-shm"} <= files
        assert loose(data_dir) == {}
    assert loose(data_dir) == {}


async def test_a_folder_left_open_by_an_earlier_run_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_platform(data_dir):
        pass
    data_dir.chmod(0o755)
    for path in data_dir.iterdir():
        if path.is_file():
            path.chmod(0o644)
    assert "gateway.db" in loose(data_dir)

    async with running_platform(data_dir):
        assert loose(data_dir) == {}
