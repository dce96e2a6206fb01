"""Reference data kept in memory: facts a running process may look up once and then remember.

Some rows never change while a service runs (an administrative unit of a given day, a review
round once opened, the path of a unit up to its province): reading them from the database on every
request is a round trip for nothing. Each app keeps one `ReferenceCache` for its lifetime (made
in its lifespan, so a restart starts empty), handed to every session of the app through
`Session.info`; the service asks for one of its `Reference`s by name:

    ROUNDS = Reference[UUID, RoundFacts]("households.round", max_entries=1_000)

    async def get(session: AsyncSession, round_id: UUID) -> RoundFacts | None:
        return await remembered(session, ROUNDS, round_id, lambda: load(session, round_id))

Only what was found is remembered (a missing row may appear later), only committed rows should
be asked for, and a session without the cache (a test's, a worker's) simply reads every time.
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SESSION_INFO_KEY = "kit.references"


class Remembered(Generic[K, V]):
    """At most `max_entries` values, the least recently used forgotten first; each for at most
    `ttl_seconds` when given."""

    def __init__(
        self,
        max_entries: int,
        *,
        ttl_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._values: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._values.get(key)
        if found is None:
            return None
        value, stored_at = found
        if self._ttl is not None and self._clock() - stored_at >= self._ttl:
            del self._values[key]
            return None
        self._values.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._values[key] = (value, self._clock())
        self._values.move_to_end(key)
        if len(self._values) > self._max_entries:
            self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True, eq=False)
class Reference(Generic[K, V]):
    """The name and bounds of one kind of reference data (compared by identity)."""

    name: str
    max_entries: int = 10_000
    ttl_seconds: float | None = None


class ReferenceCache:
    """One app's remembered reference data, one store per `Reference`."""

    def __init__(self) -> None:
        self._stores: dict[Reference[Any, Any], Remembered[Any, Any]] = {}

    def of(self, reference: Reference[K, V]) -> Remembered[K, V]:
        store = self._stores.get(reference)
        if store is None:
            store = Remembered(reference.max_entries, ttl_seconds=reference.ttl_seconds)
            self._stores[reference] = store
        return store


def references_of(session: AsyncSession) -> ReferenceCache | None:
    cache = session.info.get(SESSION_INFO_KEY)
    return cache if isinstance(cache, ReferenceCache) else None


async def remembered(
    session: AsyncSession,
    reference: Reference[K, V],
    key: K,
    load: Callable[[], Awaitable[V | None]],
) -> V | None:
    """The value of `key`, from the session's cache if it has one, else `load()` (remembered
    when found)."""
    cache = references_of(session)
    if cache is None:
        return await load()
    store = cache.of(reference)
    value = store.get(key)
    if value is None:
        value = await load()
        if value is not None:
            store.put(key, value)
    return value
