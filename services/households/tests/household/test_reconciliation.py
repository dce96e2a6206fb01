"""The round's ledger and its re-publication (`households.reconciliation`), for the indicators
service's reconciliation."""

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from kit.auth import Role
from kit.contracts.ledger import checksum

from .test_assessments import assessment_json, open_round, register, staged

OURS, THEIRS = "08764", "08713"


async def survey(
    client: httpx.AsyncClient, round_id: str, commune: str, *, replaced: bool = False
) -> dict[str, Any]:
    household = await register(client, commune_code=commune)
    url = f"/api/v1/households/{household['id']}/assessments/{round_id}"
    body = assessment_json(members=[assessment_json()["members"][0] | {"national_id": None}])
    response = await client.put(url, json=body)
    assert response.status_code == 201, response.text
    if replaced:
        response = await client.put(url, json=body, headers={"If-Match": '"1"'})
        assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def pair(assessment: dict[str, Any]) -> tuple[UUID, int]:
    return UUID(assessment["id"]), assessment["version"]


async def test_the_ledger_counts_and_checksums_each_communes_surveys(
    client: httpx.AsyncClient,
) -> None:
    round_id = await open_round(client)
    ours = [
        await survey(client, round_id, OURS),
        await survey(client, round_id, OURS, replaced=True),
    ]
    theirs = await survey(client, round_id, THEIRS)
    other_round = await open_round(client, reference_date="2024-11-02")
    await survey(client, other_round, OURS)  # another round's survey is not counted

    response = await client.get(f"/api/v1/admin/households/rounds/{round_id}/ledger")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "round_id": round_id,
        "communes": [
            {"commune_code": THEIRS, "households": 1, "checksum": checksum([pair(theirs)])},
            {
                "commune_code": OURS,
                "households": 2,
                "checksum": checksum([pair(a) for a in ours]),
            },
        ],
    }
    assert ours[1]["version"] == 2  # the replaced survey counts at its current version


async def test_republishing_stages_each_surveys_current_event(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    round_id = await open_round(client)
    surveys = [
        await survey(client, round_id, OURS, replaced=True),
        await survey(client, round_id, THEIRS),
    ]
    await survey(client, await open_round(client, reference_date="2024-11-02"), OURS)
    before = await staged(sessionmaker)

    response = await client.post(f"/api/v1/admin/households/rounds/{round_id}/republish")

    assert response.status_code == 200, response.text
    assert response.json() == {"staged": 2}
    again = (await staged(sessionmaker))[len(before) :]
    assert sorted((e["subject"], e["sequence"]) for e in again) == sorted(
        (s["id"], s["version"]) for s in surveys
    )
    # The very event the survey's last write staged, under a new message id.
    last_written = {e["subject"]: e for e in before}
    for envelope in again:
        assert envelope["data"] == last_written[envelope["subject"]]["data"]
        assert envelope["id"] != last_written[envelope["subject"]]["id"]


async def test_an_unknown_round_is_not_found(client: httpx.AsyncClient) -> None:
    for method, action in (("GET", "ledger"), ("POST", "republish")):
        response = await client.request(
            method, f"/api/v1/admin/households/rounds/{uuid4()}/{action}"
        )
        assert response.status_code == 404, response.text


async def test_only_operators_may_read_the_ledger_or_republish(
    client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
) -> None:
    round_id = await open_round(client)
    analyst = as_role(Role.MINISTRY_ANALYST)
    for method, action in (("GET", "ledger"), ("POST", "republish")):
        response = await analyst.request(
            method, f"/api/v1/admin/households/rounds/{round_id}/{action}"
        )
        assert response.status_code == 403, response.text


async def test_an_operator_over_a_unit_scope_may_not_read_a_whole_rounds_ledger(
    client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
) -> None:
    round_id = await open_round(client)
    await survey(client, round_id, OURS)
    provincial_admin = as_role(Role.ADMIN, "26")
    for method, action in (("GET", "ledger"), ("POST", "republish")):
        response = await provincial_admin.request(
            method, f"/api/v1/admin/households/rounds/{round_id}/{action}"
        )
        assert response.status_code == 403, response.text
        assert OURS not in response.text
