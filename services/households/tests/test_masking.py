"""Every personal field, on every route of the households service that returns it: masked for a
role without `personal_data:read` (a province officer), shown to one with it (a commune officer).

The routes that answer with personal data: a household and the list of households (head's name,
address); a survey and the list of surveys (each member's name, national ID, birth date); the
audit log, whose entries carry the old and new values of a household's registry facts and the
whole member lists of a survey. The routes that write (register, change, survey) answer with the
same data, but only roles that may read it may write. Import jobs and their error reports are
seen only by their uploader (or a country-wide caller), and a province officer may not upload.

The household is registered, renamed and surveyed twice by an admin, with marked values, so that
each route has every field to show: a masked answer must not contain the value anywhere.
"""

from typing import Any

import httpx
import pytest

from households.personal import MASK
from kit.auth import Role
from synthetic.generator import Commune, generate

COMMUNE = "08764"
HEAD, NEW_HEAD = "Nguyễn Văn Canary", "Trần Văn Canary"
ADDRESS, NEW_ADDRESS = "Số 7, ngõ Canary", "Số 9, ngõ Canary"
MEMBER = {"full_name": "Lê Thị Canary", "national_id": "026190012345", "birth_date": "1990-03-17"}

HOUSEHOLD_ROUTES = ("household", "households list")
SURVEY_ROUTES = ("survey", "surveys list")
# An audit entry's action, and the sides of each change it records.
AUDIT_ENTRIES = {
    "household.registered": ("new",),
    "household.updated": ("old", "new"),
    "assessment.recorded": ("new",),
    "assessment.replaced": ("old", "new"),
}
CASES = [
    *((route, field) for route in HOUSEHOLD_ROUTES for field in ("head_name", "address")),
    *((route, field) for route in SURVEY_ROUTES for field in MEMBER),
    *(
        (f"audit {action}", field)
        for action in AUDIT_ENTRIES
        for field in (("head_name", "address") if action.startswith("household") else MEMBER)
    ),
]


def survey_json(**first_member: Any) -> dict[str, Any]:
    [item] = generate([Commune(COMMUNE, urban=False)], households=1, seed=3)
    survey = item.assessment.model_dump(mode="json")
    survey["members"][0] |= MEMBER | first_member
    return survey


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, str]:
    round_in = {"year": 2024, "reference_date": "2024-11-01", "standard_id": "VN-2022-2025"}
    round_id = (await client.post("/api/v1/rounds", json=round_in)).json()["id"]
    household_in = {
        "household_code": "HH-MASK",
        "commune_code": COMMUNE,
        "village": "Thôn 3",
        "head_name": HEAD,
        "address": ADDRESS,
    }
    registered = await client.post("/api/v1/households", json=household_in)
    assert registered.status_code == 201, registered.text
    household_url = f"/api/v1/households/{registered.json()['id']}"
    renamed = await client.patch(
        household_url,
        json={"head_name": NEW_HEAD, "address": NEW_ADDRESS},
        headers={"If-Match": registered.headers["etag"]},
    )
    assert renamed.status_code == 200, renamed.text
    survey_url = f"{household_url}/assessments/{round_id}"
    recorded = await client.put(survey_url, json=survey_json(has_health_insurance=False))
    assert recorded.status_code == 201, recorded.text
    replaced = await client.put(
        survey_url,
        json=survey_json(has_health_insurance=True),
        headers={"If-Match": recorded.headers["etag"]},
    )
    assert replaced.status_code == 200, replaced.text
    return {"round_id": round_id, "household_id": registered.json()["id"]}


async def answer(client: httpx.AsyncClient, world: dict[str, str], route: str) -> httpx.Response:
    household_id, round_id = world["household_id"], world["round_id"]
    if route == "household":
        response = await client.get(f"/api/v1/households/{household_id}")
    elif route == "households list":
        response = await client.get("/api/v1/households", params={"unit_code": COMMUNE})
    elif route == "survey":
        response = await client.get(f"/api/v1/households/{household_id}/assessments/{round_id}")
    elif route == "surveys list":
        response = await client.get("/api/v1/assessments", params={"round_id": round_id})
    else:
        response = await client.get("/api/v1/audit", params={"household_id": household_id})
    assert response.status_code == 200, response.text
    return response


def values_at(body: Any, world: dict[str, str], route: str, field: str) -> list[Any]:
    """The field's values where the route answers with them (each side of an audit change)."""
    household_id = world["household_id"]
    if route == "household":
        return [body[field]]
    if route == "households list":
        return [item[field] for item in body["items"] if item["id"] == household_id]
    if route == "survey":
        return [body["members"][0][field]]
    if route == "surveys list":
        surveys = [item for item in body["items"] if item["household_id"] == household_id]
        return [survey["members"][0][field] for survey in surveys]
    action = route.removeprefix("audit ")
    [entry] = [entry for entry in body["items"] if entry["action"] == action]
    if action.startswith("household"):
        return [entry["changes"][field][side] for side in AUDIT_ENTRIES[action]]
    members = entry["changes"]["members"]
    return [
        members[side][0][field] if isinstance(members[side], list) else members[side]
        for side in AUDIT_ENTRIES[action]
    ]


def shown(route: str, field: str) -> list[str]:
    """What a reader of personal data sees there."""
    if field in MEMBER:
        sides = AUDIT_ENTRIES.get(route.removeprefix("audit "), ("new",))
        return [MEMBER[field]] * len(sides)
    old, new = {"head_name": (HEAD, NEW_HEAD), "address": (ADDRESS, NEW_ADDRESS)}[field]
    if route == "audit household.registered":
        return [old]
    if route == "audit household.updated":
        return [old, new]
    return [new]


@pytest.mark.parametrize(("route", "field"), CASES)
async def test_a_province_officer_sees_the_field_masked(
    world: dict[str, str], as_role: Any, route: str, field: str
) -> None:
    response = await answer(as_role(Role.PROVINCE_OFFICER, "26"), world, route)

    # A survey withholds a birth date (null); everything else reads as the mask.
    masked = None if (route in SURVEY_ROUTES and field == "birth_date") else MASK
    values = values_at(response.json(), world, route, field)
    assert values == [masked] * len(shown(route, field))
    for value in shown(route, field):
        assert value not in response.text
    if route in HOUSEHOLD_ROUTES + SURVEY_ROUTES:
        assert '"personal_data_masked":true' in response.text


@pytest.mark.parametrize(("route", "field"), CASES)
async def test_a_commune_officer_sees_the_field_in_full(
    world: dict[str, str], as_role: Any, route: str, field: str
) -> None:
    response = await answer(as_role(Role.COMMUNE_OFFICER, COMMUNE), world, route)

    assert values_at(response.json(), world, route, field) == shown(route, field)
    if route in HOUSEHOLD_ROUTES + SURVEY_ROUTES:
        assert '"personal_data_masked":true' not in response.text
