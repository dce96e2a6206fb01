"""The issue's "done when", on the embedded platform: a commune officer opens the left-behind list
of their commune, a smartphone is recorded as given (its event published by the households
service's outbox, as its support write path does), the household leaves the list as soon as the
event is consumed, and the remaining list exports as XLSX."""

import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import openpyxl
import pytest
import pytest_asyncio
from support.platform_api import Api

from households.db import outbox
from kit.auth import Role
from kit.contracts import Envelope
from kit.contracts.households import Device, SupportGiven, SupportKind, SupportRecordedV1
from kit.messaging import stage
from launcher.embedded import Platform, running_platform

pytestmark = pytest.mark.asyncio(loop_scope="module")
PATH = ["26", "246", "08764"]  # Quang Sơn


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    data_dir: Path = tmp_path_factory.mktemp("left-behind")
    async with running_platform(data_dir) as running:
        yield running


async def _smartphone_given(platform: Platform, household: dict[str, object]) -> None:
    record = SupportGiven(
        support_id=uuid4(),
        household_id=UUID(str(household["id"])),
        household_code=str(household["household_code"]),
        commune_code=PATH[-1],
        unit_path=PATH,
        kind=SupportKind.device_given,
        device=Device.smartphone,
        given_on=date.today(),
        team_id=uuid4(),
        member_id=uuid4(),
    )
    envelope = Envelope.wrap(
        SupportRecordedV1(records=[record]),
        producer="households",
        subject=f"support:{uuid4()}",
        sequence=1,
    )
    async with platform.households_sessionmaker() as session, session.begin():
        await stage(session, outbox, envelope)


async def test_a_commune_officer_sees_a_supported_household_leave_the_list(
    platform: Platform,
) -> None:
    async with platform.client() as admin:
        api = Api(admin)
        round_ = await api.open_round()
        households = [await api.register(f"LB-{n}", PATH[-1]) for n in range(3)]
        for household in households:
            await api.ok(api.survey(household, round_, poor=True), 201)
    await platform.settled()
    url = f"/api/v1/left-behind/{round_['id']}/{PATH[-1]}"
    async with platform.client(Role.COMMUNE_OFFICER, (PATH[-1],)) as officer:
        listed = (await officer.get(url)).json()
        assert sorted(i["household_code"] for i in listed["items"]) == ["LB-0", "LB-1", "LB-2"]
        assert {i["village"] for i in listed["items"]} == {"Thôn 1"}

        await _smartphone_given(platform, households[0])
        await platform.settled()

        remaining = (await officer.get(url)).json()
        assert sorted(i["household_code"] for i in remaining["items"]) == ["LB-1", "LB-2"]
        exported = await officer.get(f"{url}/workbook")
        assert exported.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
        assert sheet is not None
        codes = sorted(row[1].value for row in sheet.iter_rows(min_row=7))
        assert codes == ["LB-1", "LB-2"]
