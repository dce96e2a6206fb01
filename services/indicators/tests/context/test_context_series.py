"""Context series: public statistics per unit and year imported in batches (CSV or JSON), every
wrong row named with its column, units read on the year's map, shown beside the information
dimension the figures compute."""

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.testing import assessment
from indicators.context import service as context_service
from indicators.context.models import ContextValue
from indicators.context.schemas import Series
from indicators.handlers import consumer
from kit.auth import Role
from kit.contracts import Envelope, Event
from kit.contracts.households import (
    Area,
    PopulationRecordedV1,
    RoundOpenedV1,
    SuccessionRelation,
    UnitSuccession,
    UnitSuccessionsRecordedV1,
)
from kit.messaging import IncomingMessage

AsRole = Callable[..., httpx.AsyncClient]
NS = UUID("00000000-0000-4000-8000-0000000c0e11")
ROUND_2022, ROUND_2026 = uuid5(NS, "2022"), uuid5(NS, "2026")
OLD_PATH = ["26", "243", "08707"]  # 08707 before 1 July 2025
NEW_PATH = ["25", "08707"]  # the same code, another commune, after
HEADER = (
    "unit_code,year,series,value,source_publisher,source_title,source_reference,"
    "source_retrieved_on,note"
)
SOURCE = "Sở TT&TT,Báo cáo chuyển đổi số,https://example.gov.vn/cds,2026-01-15"


def _message(event: Event, sequence: int = 1) -> IncomingMessage:
    envelope = Envelope.wrap(event, producer="households", sequence=sequence, subject="s")
    return IncomingMessage(
        body=envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        correlation_id=None,
    )


@pytest.fixture
async def rounds(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """A 2022 round on the old map (4 households, 1 offline, 2 without a device) and a 2026
    round on the new one, 08707 reused; the 1 July 2025 crosswalk known."""
    handle = consumer(sessionmaker)
    crosswalk = UnitSuccessionsRecordedV1(
        source="test crosswalk",
        effective=date(2025, 7, 1),
        predecessor_province_code="26",
        successions=[
            UnitSuccession(
                predecessor_code="08707",
                predecessor_valid_from=date(2008, 1, 1),
                successor_code="08707",
                successor_valid_from=date(2025, 7, 1),
                successor_level="commune",
                successor_unit_path=NEW_PATH,
                successor_area=Area.urban,
                relation=SuccessionRelation.whole,
            )
        ],
    )
    await handle(_message(crosswalk))
    for round_id, year, path in ((ROUND_2022, 2022, OLD_PATH), (ROUND_2026, 2026, NEW_PATH)):
        reference = date(year, 11, 1)
        opened = RoundOpenedV1(
            round_id=round_id,
            year=year,
            kind="periodic",
            reference_date=reference,
            standard_id="VN-2022-2025",
            name=str(year),
        )
        await handle(_message(opened))
        for n in range(4):
            survey = assessment(
                assessment_id=uuid5(NS, f"a{year}-{n}"),
                household_id=uuid5(NS, f"h{year}-{n}"),
                household_code=f"C-{year}-{n}",
                round_id=round_id,
                round_year=year,
                reference_date=reference,
                unit_path=path,
                internet_use=n != 0,
                devices=[] if n < 2 else ["smartphone"],
            )
            await handle(_message(survey))
        population = PopulationRecordedV1(
            round_id=round_id,
            unit_code="08707",
            unit_path=path,
            area=Area.rural,
            resident_households=4,
            resident_persons=8,
        )
        await handle(_message(population))


def _csv(*lines: str) -> bytes:
    return "\n".join((HEADER, *lines)).encode() + b"\n"


def _row(**overrides: Any) -> dict[str, Any]:
    row = {
        "unit_code": "08707",
        "year": 2022,
        "series": "smartphone_households",
        "value": 81.5,
        "source_publisher": "Sở TT&TT",
        "source_title": "Báo cáo chuyển đổi số",
        "source_reference": "https://example.gov.vn/cds",
        "source_retrieved_on": "2026-01-15",
    }
    return row | overrides


async def _import(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(
        "/api/v1/context-series/import", content=body, headers={"content-type": "text/csv"}
    )


async def _stored(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return (await session.exec(select(func.count()).select_from(ContextValue))).one()


class TestImport:
    async def test_a_csv_is_recorded_and_read_back_with_its_sources(
        self, rounds: None, as_role: AsRole
    ) -> None:
        officer = as_role(Role.PROVINCE_OFFICER, "26")
        response = await _import(
            officer,
            _csv(
                f"08707,2022,smartphone_households,81.5,{SOURCE},Illustrative",
                f"08707,2022,mobile_coverage,99.2,{SOURCE},",
                f"08707,2022,broadband_subscriptions,112.4,{SOURCE},",
            ),
        )

        assert response.status_code == 200, response.text
        assert response.json() == {"imported": 3, "replaced": 0}
        read = await officer.get("/api/v1/context-series/08707", params={"to": 2022})
        [year] = read.json()["items"]
        assert year["year"] == 2022
        assert year["unit_path"] == OLD_PATH
        assert [(s["series"], s["value"], s["measure"]) for s in year["series"]] == [
            ("mobile_coverage", 99.2, "percent of population"),
            ("broadband_subscriptions", 112.4, "subscriptions per 100 households"),
            ("smartphone_households", 81.5, "percent of households"),
        ]
        assert year["series"][2]["source"] == {
            "publisher": "Sở TT&TT",
            "title": "Báo cáo chuyển đổi số",
            "reference": "https://example.gov.vn/cds",
            "retrieved_on": "2026-01-15",
        }
        assert year["series"][2]["note"] == "Illustrative"
        assert year["series"][0]["note"] is None  # an empty cell is no note

    async def test_every_wrong_row_is_named_with_its_column_and_nothing_is_written(
        self, rounds: None, as_role: AsRole, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        response = await _import(
            as_role(Role.ADMIN),
            _csv(
                f"08707,2022,smartphone_households,80,{SOURCE},",
                f"08707,2022,smartphone_households,100.01,{SOURCE},",
                f"08707,2022,satellite_dishes,3,{SOURCE},",
                f"08707,1999,mobile_coverage,90,{SOURCE},",
                f"08707,2022,mobile_coverage,-1,{SOURCE},",
            ),
        )

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        located = {tuple(e["loc"]) for e in response.json()["errors"]}
        assert located == {
            ("body", "row 3", "value"),
            ("body", "row 4", "series"),
            ("body", "row 5", "year"),
            ("body", "row 6", "value"),
        }
        assert await _stored(sessionmaker) == 0

    @pytest.mark.parametrize(
        ("series", "value"),
        [
            ("mobile_coverage", 0),
            ("mobile_coverage", 100),
            ("smartphone_households", 100),
            ("broadband_subscriptions", 500),
        ],
    )
    async def test_the_bounds_of_each_measure_are_accepted(
        self, rounds: None, as_role: AsRole, series: str, value: float
    ) -> None:
        response = await as_role(Role.ADMIN).post(
            "/api/v1/context-series/import", json=[_row(series=series, value=value)]
        )

        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("value", 100.01),
            ("value", -0.01),
            ("year", 1999),
            ("year", date.today().year + 1),
            ("source_retrieved_on", "2999-01-01"),
            ("source_publisher", ""),
        ],
    )
    async def test_a_value_past_its_bounds_is_refused_naming_the_field(
        self,
        rounds: None,
        as_role: AsRole,
        sessionmaker: async_sessionmaker[AsyncSession],
        field: str,
        value: object,
    ) -> None:
        response = await as_role(Role.ADMIN).post(
            "/api/v1/context-series/import", json=[_row(**{field: value})]
        )

        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", 0, field]]
        assert await _stored(sessionmaker) == 0

    async def test_broadband_above_500_per_100_households_is_refused(
        self, rounds: None, as_role: AsRole
    ) -> None:
        response = await as_role(Role.ADMIN).post(
            "/api/v1/context-series/import",
            json=[_row(series="broadband_subscriptions", value=500.5)],
        )

        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [["body", 0, "value"]]

    async def test_a_unit_outside_the_scope_or_unknown_that_year_is_refused(
        self, rounds: None, as_role: AsRole, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        elsewhere = as_role(Role.PROVINCE_OFFICER, "01")
        response = await _import(
            elsewhere,
            _csv(
                f"08707,2022,mobile_coverage,99,{SOURCE},",
                f"99999,2022,mobile_coverage,99,{SOURCE},",
            ),
        )

        assert response.status_code == 422
        assert [e["loc"] for e in response.json()["errors"]] == [
            ["body", "row 2", "unit_code"],
            ["body", "row 3", "unit_code"],
        ]
        assert await _stored(sessionmaker) == 0

    async def test_a_row_twice_in_the_batch_is_refused(self, rounds: None, as_role: AsRole) -> None:
        response = await _import(
            as_role(Role.ADMIN),
            _csv(
                f"08707,2022,mobile_coverage,99,{SOURCE},",
                f"08707,2022,mobile_coverage,98,{SOURCE},",
            ),
        )

        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["loc"] == ["body", "row 3", "series"]
        assert "row 2" in error["msg"]

    async def test_a_second_import_replaces_the_value(
        self, rounds: None, as_role: AsRole, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        admin = as_role(Role.ADMIN)
        await admin.post("/api/v1/context-series/import", json=[_row(value=80)])
        response = await admin.post("/api/v1/context-series/import", json=[_row(value=82)])

        assert response.json() == {"imported": 1, "replaced": 1}
        assert await _stored(sessionmaker) == 1
        read = (await admin.get("/api/v1/context-series/08707", params={"to": 2022})).json()
        assert read["items"][0]["series"][0]["value"] == 82

    async def test_a_header_without_a_required_column_is_refused(
        self, rounds: None, as_role: AsRole
    ) -> None:
        response = await _import(as_role(Role.ADMIN), b"unit_code,year,series,value\n26,2022,x,1\n")

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body"]
        assert "source_publisher" in response.json()["errors"][0]["msg"]

    @pytest.mark.parametrize("role", [Role.COMMUNE_OFFICER, Role.ENUMERATOR, Role.MINISTRY_ANALYST])
    async def test_roles_other_than_admins_and_province_officers_may_not_import(
        self, rounds: None, as_role: AsRole, role: Role
    ) -> None:
        response = await as_role(role, "08707").post("/api/v1/context-series/import", json=[_row()])

        assert response.status_code == 403


class TestMaps:
    async def test_a_code_names_the_unit_of_the_years_map(
        self, rounds: None, as_role: AsRole
    ) -> None:
        admin = as_role(Role.ADMIN)
        rows = [_row(year=year) for year in (2022, 2023, 2024, 2025, 2026)]
        assert (await admin.post("/api/v1/context-series/import", json=rows)).status_code == 200

        items = (await admin.get("/api/v1/context-series/08707")).json()["items"]

        # 2023 and 2024 have no round: the old map was in force at their end; 2025's end is on
        # the new one.
        assert [(i["year"], i["unit_path"]) for i in items] == [
            (2022, OLD_PATH),
            (2023, OLD_PATH),
            (2024, OLD_PATH),
            (2025, NEW_PATH),
            (2026, NEW_PATH),
        ]

    async def test_an_officer_of_the_new_province_cannot_import_for_the_old_unit(
        self, rounds: None, as_role: AsRole
    ) -> None:
        officer = as_role(Role.PROVINCE_OFFICER, "25")
        old = await officer.post("/api/v1/context-series/import", json=[_row(year=2022)])
        new = await officer.post("/api/v1/context-series/import", json=[_row(year=2026)])

        assert old.status_code == 422
        assert new.status_code == 200, new.text


class TestRead:
    async def test_values_are_shown_beside_the_information_figures_of_the_years_round(
        self, rounds: None, as_role: AsRole
    ) -> None:
        admin = as_role(Role.ADMIN)
        await admin.post("/api/v1/context-series/import", json=[_row()])

        [year] = (await admin.get("/api/v1/context-series/08707", params={"to": 2022})).json()[
            "items"
        ]
        information = await admin.get(f"/api/v1/information/{ROUND_2022}/08707")

        assert year["information"] == information.json()
        shares = {
            i["number"]: i["households"] for i in year["information"]["groups"]["all"]["indicators"]
        }
        assert shares == {11: 1, 12: 2}

    async def test_a_year_with_figures_and_no_value_is_shown(
        self, rounds: None, as_role: AsRole
    ) -> None:
        items = (await as_role(Role.ADMIN).get("/api/v1/context-series/08707")).json()["items"]

        assert [(i["year"], i["series"], i["information"]["round_id"]) for i in items] == [
            (2022, [], str(ROUND_2022)),
            (2026, [], str(ROUND_2026)),
        ]

    async def test_restricted_roles_see_the_information_figures_as_the_figures_api_shows_them(
        self, rounds: None, as_role: AsRole
    ) -> None:
        analyst = as_role(Role.MINISTRY_ANALYST)
        await as_role(Role.ADMIN).post("/api/v1/context-series/import", json=[_row()])

        [year] = (await analyst.get("/api/v1/context-series/08707", params={"to": 2022})).json()[
            "items"
        ]
        information = await analyst.get(f"/api/v1/information/{ROUND_2022}/08707")

        assert year["information"]["disclosure"] is not None  # perturbed, as for the analyst
        assert year["information"]["groups"] == information.json()["groups"]
        assert year["series"][0]["value"] == 81.5  # public statistics: exact for every role

    async def test_outside_the_scope_nothing_is_shown(self, rounds: None, as_role: AsRole) -> None:
        await as_role(Role.ADMIN).post("/api/v1/context-series/import", json=[_row()])

        response = await as_role(Role.COMMUNE_OFFICER, "08710").get("/api/v1/context-series/08707")

        assert response.status_code == 404

    async def test_the_years_asked_bound_the_answer(self, rounds: None, as_role: AsRole) -> None:
        admin = as_role(Role.ADMIN)
        await admin.post(
            "/api/v1/context-series/import", json=[_row(year=y) for y in (2022, 2023, 2024)]
        )

        items = (
            await admin.get("/api/v1/context-series/08707", params={"from": 2023, "to": 2024})
        ).json()["items"]
        backwards = await admin.get(
            "/api/v1/context-series/08707", params={"from": 2024, "to": 2023}
        )

        assert [i["year"] for i in items] == [2023, 2024]
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["loc"] == ["query", "to"]


def test_the_documented_template_is_a_valid_batch() -> None:
    template = Path(__file__).resolve().parents[4] / "docs/examples/context-series.csv"

    rows = context_service.parse_csv(template.read_bytes())

    assert {row.series for row in rows.values()} == set(Series)
    assert list(rows) == ["row 2", "row 3", "row 4", "row 5"]
