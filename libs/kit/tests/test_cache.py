"""Reference data remembered per app: found values only, bounded, and optionally for a while."""

from pathlib import Path

from kit.cache import Reference, ReferenceCache, Remembered, remembered
from kit.db import make_engine, make_sessionmaker

NAMES = Reference[str, str]("test.names", max_entries=2)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class TestRemembered:
    def test_forgets_the_least_recently_used_beyond_its_size(self) -> None:
        store = Remembered[str, int](2)
        store.put("a", 1)
        store.put("b", 2)
        assert store.get("a") == 1
        store.put("c", 3)

        assert (store.get("a"), store.get("b"), store.get("c")) == (1, None, 3)

    def test_forgets_a_value_once_its_time_is_up(self) -> None:
        clock = Clock()
        store = Remembered[str, int](10, ttl_seconds=60, clock=clock)
        store.put("a", 1)

        clock.now = 59.9
        assert store.get("a") == 1
        clock.now = 60
        assert store.get("a") is None
        assert len(store) == 0


class TestRememberedReferences:
    async def test_a_session_of_the_app_loads_a_found_value_once(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
        sessions = make_sessionmaker(engine, references=ReferenceCache())
        loads: list[str] = []

        async def load(key: str) -> str | None:
            loads.append(key)
            return key.upper() if key != "missing" else None

        try:
            for _ in range(3):
                async with sessions() as session:
                    assert await remembered(session, NAMES, "lan", lambda: load("lan")) == "LAN"
                    assert (
                        await remembered(session, NAMES, "missing", lambda: load("missing")) is None
                    )
        finally:
            await engine.dispose()

        assert loads == ["lan", "missing", "missing", "missing"]

    async def test_a_session_without_the_cache_always_loads(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
        loads: list[str] = []

        async def load() -> str:
            loads.append("lan")
            return "LAN"

        try:
            for _ in range(2):
                async with make_sessionmaker(engine)() as session:
                    await remembered(session, NAMES, "lan", load)
        finally:
            await engine.dispose()

        assert len(loads) == 2

    async def test_each_app_has_its_own(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
        loads: list[str] = []

        async def load() -> str:
            loads.append("lan")
            return "LAN"

        try:
            for _ in range(2):  # a restart: a new lifespan, a new cache
                sessions = make_sessionmaker(engine, references=ReferenceCache())
                async with sessions() as session:
                    await remembered(session, NAMES, "lan", load)
                    await remembered(session, NAMES, "lan", load)
        finally:
            await engine.dispose()

        assert len(loads) == 2
