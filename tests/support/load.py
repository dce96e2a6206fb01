"""A steady write load through the gateway, with a ledger of every write it acknowledged.

The writers survey a fixed set of households again and again (each PUT makes the household's
assessment a new version). The ledger keeps, per household, the versions the gateway acknowledged
and the writes whose answer never came (a connection cut, a timeout): those may or may not have
been committed, and are resolved later by reading the household's current version.
"""

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from support.platform_api import Api, assessment

COMMUNES = ("08764", "08713")  # Quang Sơn and Hội Hợp, in the demo province


@dataclass
class Ledger:
    """What the load was told: acknowledged versions per household, and unanswered writes."""

    acknowledged: dict[str, list[int]] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)  # household id -> count
    refused: dict[int, int] = field(default_factory=dict)  # status -> count (503 in outages)
    started_at: float = field(default_factory=time.monotonic)

    @property
    def writes(self) -> int:
        return sum(len(versions) for versions in self.acknowledged.values())

    def latest(self) -> dict[str, int]:
        return {hid: max(versions) for hid, versions in self.acknowledged.items() if versions}

    def duplicated_versions(self) -> int:
        """Versions acknowledged twice for one household: two writes that became one."""
        return sum(len(v) - len(set(v)) for v in self.acknowledged.values())


class SurveyLoad:
    """`writers` concurrent writers surveying `households` over and over until stopped."""

    def __init__(
        self, api: Api, round_: dict[str, Any], households: Sequence[dict[str, Any]], writers: int
    ) -> None:
        self.api = api
        self.round = round_
        self.households = list(households)
        self.writers = writers
        self.ledger = Ledger()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def prepared(
        cls, api: Api, round_: dict[str, Any], *, households: int, writers: int, tag: str
    ) -> "SurveyLoad":
        registered = [
            await api.register(f"{tag}-{n}", COMMUNES[n % len(COMMUNES)]) for n in range(households)
        ]
        return cls(api, round_, registered, writers)

    def start(self) -> None:
        # Each writer owns every `writers`-th household: no two writers race for one version.
        self._tasks = [
            asyncio.create_task(self._write(self.households[n :: self.writers]))
            for n in range(self.writers)
        ]

    async def stop(self) -> Ledger:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return self.ledger

    async def current_version(self, household_id: str) -> int | None:
        """The version the households service holds now (None: never surveyed in the round)."""
        while True:
            try:
                response = await self.api.client.get(
                    f"/api/v1/households/{household_id}/assessments/{self.round['id']}",
                    timeout=10,
                )
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            if response.status_code == 404:
                return None
            if response.status_code == 200:
                return int(response.json()["version"])
            await asyncio.sleep(0.5)  # 503 in an outage: ask again

    async def _write(self, households: Sequence[dict[str, Any]]) -> None:
        versions: dict[str, int | None] = {h["id"]: None for h in households}
        for n in itertools.count():
            if self._stop.is_set():
                return
            hid = households[n % len(households)]["id"]
            known = versions[hid]
            headers = {} if known is None else {"If-Match": f'"{known}"'}
            try:
                response = await self.api.client.put(
                    f"/api/v1/households/{hid}/assessments/{self.round['id']}",
                    json=assessment(poor=n % 3 == 0),
                    headers=headers,
                    timeout=10,
                )
            except httpx.HTTPError:
                # Committed or not: the version the service holds now says which.
                self.ledger.unanswered[hid] = self.ledger.unanswered.get(hid, 0) + 1
                versions[hid] = await self.current_version(hid)
                continue
            if response.status_code in (200, 201):
                version = int(response.json()["version"])
                self.ledger.acknowledged.setdefault(hid, []).append(version)
                versions[hid] = version
            else:
                status = response.status_code
                self.ledger.refused[status] = self.ledger.refused.get(status, 0) + 1
                if status in (409, 412, 428):
                    versions[hid] = await self.current_version(hid)
                else:
                    await asyncio.sleep(0.2)
