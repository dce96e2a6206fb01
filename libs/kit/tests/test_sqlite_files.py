"""A SQLite database holds personal data or password hashes: its files are the owner's only."""

import stat
from pathlib import Path

from sqlalchemy import text

from kit.db import make_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_log_are_created_for_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert mode(path) == 0o600
        assert mode(Path(f"{path}-wal")) == 0o600
        assert mode(Path(f"{path}-shm")) == 0o600
    finally:
        await engine.dispose()


async def test_a_database_left_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.touch(mode=0o644)
        name.chmod(0o644)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await engine.dispose()
    assert [mode(name) for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))] == [0o600] * 3
