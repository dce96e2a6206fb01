"""A small client of the public API, and the scenarios both ways of running must pass."""

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

import httpx

from kit.contracts import Envelope

T = TypeVar("T")
_round_days = itertools.count()


class Broker(Protocol):
    """What a scenario may do to the message transport of the platform under test."""

    async def publish_raw(self, body: bytes, *, type: str, message_id: str) -> None: ...
    async def stop(self) -> None: ...
    async def start(self) -> None: ...
    async def staged_envelopes(self) -> list[Envelope]: ...


def member(
    no: int,
    *,
    born: str = "1980-05-01",
    head: bool = False,
    insured: bool = True,
    relation: str = "spouse",
    national_id: str | None = None,
) -> dict[str, Any]:
    return {
        "full_name": f"Nguyễn Văn {no}",
        "birth_date": born,
        "sex": "male",
        "relation_to_head": "head" if head else relation,
        "working_status": "self_employed",
        "has_health_insurance": insured,
        "highest_qualification": "upper_secondary",
        "national_id": national_id,
    }


def assessment(*, poor: bool) -> dict[str, Any]:
    """A two-member household: poor (score 100, three deprivations) or clearly not poor."""
    return {
        "members": [member(1, head=True, insured=not poor), member(2)],
        "dwelling": {"floor_area_m2": 40.0},
        "water_source": "piped",
        "latrine": "septic",
        "internet_use": not poor,
        "devices": [] if poor else ["smartphone"],
        "income_score_a": 100 if poor else 300,
    }


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def ok(self, response: Awaitable[httpx.Response], *expected: int) -> dict[str, Any]:
        answer = await response
        assert answer.status_code in (expected or (200, 201)), answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def open_round(self) -> dict[str, Any]:
        """A round of its own for each scenario, so their figures never mix."""
        reference = date(2024, 1, 1) + timedelta(days=next(_round_days))
        return await self.ok(
            self.client.post(
                "/api/v1/rounds",
                json={
                    "year": 2024,
                    "kind": "regular",
                    "reference_date": reference.isoformat(),
                    "standard_id": "VN-2022-2025",
                },
            ),
            201,
        )

    async def register(self, code: str, commune: str) -> dict[str, Any]:
        return await self.ok(
            self.client.post(
                "/api/v1/households",
                json={"household_code": code, "commune_code": commune, "village": "Thôn 1"},
            ),
            201,
        )

    async def survey(
        self, household: dict[str, Any], round_: dict[str, Any], *, poor: bool
    ) -> httpx.Response:
        return await self.client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_['id']}",
            json=assessment(poor=poor),
        )

    async def population(self, round_: dict[str, Any], commune: str, households: int) -> None:
        await self.ok(
            self.client.put(
                f"/api/v1/populations/{round_['id']}/{commune}",
                json={"resident_households": households, "resident_persons": households * 2},
            )
        )

    async def figures(self, round_: dict[str, Any], unit: str) -> dict[str, Any] | None:
        response = await self.client.get(f"/api/v1/figures/{round_['id']}/{unit}")
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    async def recalculate(self, round_: dict[str, Any]) -> dict[str, Any]:
        job = await self.ok(
            self.client.post("/api/v1/recalculations", json={"round_id": round_["id"]}), 202
        )

        async def finished() -> dict[str, Any] | None:
            current = await self.ok(self.client.get(f"/api/v1/recalculations/{job['id']}"))
            return current if current["status"] in ("succeeded", "failed") else None

        return await eventually(finished)


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 60.0) -> T:
    """Poll `probe` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within} s")
        await asyncio.sleep(0.1)


def surveyed(figures: dict[str, Any] | None) -> int:
    return figures["total"]["households"]["surveyed"] if figures else 0


# --- Scenarios --------------------------------------------------------------------------------


async def an_assessment_shows_in_every_level(api: Api) -> None:
    round_ = await api.open_round()
    await api.population(round_, "08707", households=4)
    household = await api.register(f"E2E-{round_['id'][:8]}-1", "08707")
    assert (await api.survey(household, round_, poor=True)).status_code == 201

    async def province_counts_it() -> dict[str, Any] | None:
        figures = await api.figures(round_, "26")
        return figures if figures and figures["total"]["households"]["poor"] == 1 else None

    await eventually(province_counts_it)
    for unit in ("08707", "243", "26"):
        figures = await api.figures(round_, unit)
        assert figures is not None
        assert figures["total"]["households"]["poor"] == 1
        assert figures["total"]["households"]["resident"] == 4
        assert figures["total"]["household_rates"]["poverty_rate_percent"] == 25.0
        assert figures["denominator"]["status"] == "complete"
        assert figures["deprivation"]["poor"]["households"] == 1


async def duplicated_and_reordered_events_change_nothing(api: Api, broker: Broker) -> None:
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-2", "08710")
    await api.survey(household, round_, poor=True)
    current = await api.ok(
        api.client.get(f"/api/v1/households/{household['id']}/assessments/{round_['id']}")
    )
    replaced = await api.client.put(
        f"/api/v1/households/{household['id']}/assessments/{round_['id']}",
        json=assessment(poor=False),
        headers={"If-Match": f'"{current["version"]}"'},
    )
    assert replaced.status_code == 200, replaced.text

    async def settled_not_poor() -> dict[str, Any] | None:
        figures = await api.figures(round_, "08710")
        households = figures["total"]["households"] if figures else {}
        return figures if households.get("not_poor") == 1 and not households["poor"] else None

    before = await eventually(settled_not_poor)
    mine = [e for e in await broker.staged_envelopes() if e.subject == current["id"]]
    assert [e.sequence for e in mine] == [1, 2]
    for envelope in [*mine, *mine, mine[0]]:  # duplicates, then the old version again, late
        await broker.publish_raw(
            envelope.model_dump_json().encode(), type=envelope.type, message_id=str(envelope.id)
        )
    await asyncio.sleep(2)  # let them all arrive; nothing must change
    after = await api.figures(round_, "08710")
    assert after is not None
    assert after["total"] == before["total"]
    assert after["deprivation"] == before["deprivation"]


async def writes_survive_a_broker_outage(api: Api, broker: Broker, households: int = 12) -> None:
    round_ = await api.open_round()
    await api.population(round_, "08713", households=households)
    await broker.stop()
    try:
        for number in range(households):
            household = await api.register(f"E2E-{round_['id'][:8]}-o{number}", "08713")
            response = await api.survey(household, round_, poor=number % 3 == 0)
            assert response.status_code == 201, response.text
    finally:
        await broker.start()

    async def all_counted() -> dict[str, Any] | None:
        figures = await api.figures(round_, "26")
        return figures if surveyed(figures) == households else None

    incremental = await eventually(all_counted, within=120)
    assert incremental["total"]["households"]["poor"] == households // 3
    job = await api.recalculate(round_)
    assert job["status"] == "succeeded"
    assert job["figures_changed"] == 0
    assert job["changed_classes"] == 0
    recalculated = await api.figures(round_, "26")
    assert recalculated is not None
    assert recalculated["total"] == incremental["total"]


async def a_poison_message_is_dead_lettered_while_others_flow(api: Api, broker: Broker) -> None:
    poison_id = f"poison-{time.monotonic_ns()}"
    await broker.publish_raw(
        b"{not json", type="households.assessment.recorded.v1", message_id=poison_id
    )
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-p", "08716")
    await api.survey(household, round_, poor=False)

    async def counted() -> dict[str, Any] | None:
        return await api.figures(round_, "08716")

    assert surveyed(await eventually(counted)) == 1

    async def dead_lettered() -> list[dict[str, Any]] | None:
        letters = await api.ok(api.client.get("/api/v1/admin/indicators/dead-letters"))
        return [letter for letter in letters if letter["message_id"] == poison_id] or None

    [letter] = await eventually(dead_lettered)
    assert letter["body"] == "{not json"
    assert letter["queue"] == "indicators.events"


async def the_request_id_follows_the_write_into_its_event(api: Api, broker: Broker) -> None:
    round_ = await api.open_round()
    household = await api.register(f"E2E-{round_['id'][:8]}-r", "08722")
    request_id = f"req-{time.monotonic_ns()}"

    response = await api.client.put(
        f"/api/v1/households/{household['id']}/assessments/{round_['id']}",
        json=assessment(poor=True),
        headers={"X-Request-ID": request_id},
    )

    assert response.status_code == 201
    assert response.headers["x-request-id"] == request_id
    staged = [e for e in await broker.staged_envelopes() if e.subject == response.json()["id"]]
    assert [e.correlation_id for e in staged] == [request_id]
