"""No personal data leaves the households service in logs or messages.

Canary values (a name, an address, a national ID number, a birth date) go in through the public
API, on paths that succeed and paths that fail; then every log line the platform wrote and every
message it published is searched for them.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from support import platform_api

from kit.messaging import OutgoingMessage
from launcher.embedded import running_platform

CANARIES = {
    "head_name": "Canaryhead Zqxv",
    "address": "Số 7 Canarystreet Zqxv",
    "full_name": "Canarymember Zqxv",
    "national_id": "079912345678",
    "birth_date": "1961-07-23",
}


def canary_member(**overrides: Any) -> dict[str, Any]:
    return (
        platform_api.member(
            1, head=True, born=CANARIES["birth_date"], national_id=CANARIES["national_id"]
        )
        | {"full_name": CANARIES["full_name"]}
        | overrides
    )


async def test_canaries_appear_in_no_log_line_and_no_message(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")  # the most any operator could turn on
    published: list[OutgoingMessage] = []
    async with running_platform(tmp_path) as platform:
        publish = platform.bus.publish

        async def recording(message: OutgoingMessage) -> None:
            published.append(message)
            await publish(message)

        monkeypatch.setattr(platform.bus, "publish", recording)
        async with platform.client() as admin:
            api = platform_api.Api(admin)
            round_ = await api.open_round()
            household = await api.ok(
                admin.post(
                    "/api/v1/households",
                    json={
                        "household_code": "CANARY-1",
                        "commune_code": "08764",
                        "village": "Thôn 1",
                        "head_name": CANARIES["head_name"],
                        "address": CANARIES["address"],
                    },
                ),
                201,
            )
            survey = platform_api.assessment(poor=True) | {"members": [canary_member()]}
            await api.ok(
                admin.put(
                    f"/api/v1/households/{household['id']}/assessments/{round_['id']}", json=survey
                ),
                201,
            )
            # A refusal that holds the canaries (invalid input), and the ID number in a second
            # household: recorded, with a conflict for supervisors.
            other = await api.register("CANARY-2", "08764")
            invalid = survey | {"members": [canary_member(birth_date="2999-01-01")]}
            taken = survey
            for body, status in ((invalid, 422), (taken, 201)):
                response = await admin.put(
                    f"/api/v1/households/{other['id']}/assessments/{round_['id']}", json=body
                )
                assert response.status_code == status, response.text
            await admin.get("/api/v1/households", params={"unit_code": "08764"})
            await platform.settled()
            # A survey's event delivered again: the consumer logs that it skipped it.
            [recorded] = [m for m in published if m.type == "households.assessment.recorded.v1"][:1]
            await publish(recorded)
            await platform.settled()
            # Who is behind the transitions (docs/transitions.md): households, never people.
            later = await api.open_round()
            await platform.settled()
            behind = await api.ok(
                admin.get(
                    f"/api/v1/transitions/{round_['id']}/{later['id']}/08764/households",
                    params={"table": "poor"},
                )
            )
            drill_down = json.dumps(behind, ensure_ascii=False)

    assert "CANARY-1" in drill_down  # the search ran over a real answer
    for field, canary in CANARIES.items():
        assert canary not in drill_down, f"{field} in the transitions drill-down"
    logs = "".join(capfd.readouterr())
    messages = [message.body.decode() for message in published]
    assert "households.assessment.recorded.v1" in {message.type for message in published}
    # The search ran over real output: the messages are the household's, the logs are there.
    assert any("CANARY-1" in body for body in messages)
    assert "message.duplicate_skipped" in logs
    for field, canary in CANARIES.items():
        assert canary not in logs, f"{field} in the logs"
        for body in messages:
            assert canary not in body, f"{field} in a message"
