"""Support records: one write path taking batches (`support.service.record`), its rules, its
audit entries and its one `households.support.recorded.v1` message per batch; withdrawal; lists."""

from collections.abc import Callable
from datetime import date, timedelta

import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.audit.models import AuditEntry
from households.support import service as support_service
from households.support.models import SupportRecord
from households.support.schemas import SupportInput
from kit.auth import Caller, Role

from .conftest import (
    HOP_LY,
    QUANG_SON,
    open_round,
    register,
    smartphone,
    staged,
    survey_json,
    team_with_member,
)

RECORDED = "households.support.recorded.v1"
WITHDRAWN = "households.support.withdrawn.v1"


async def records(sessionmaker: async_sessionmaker[AsyncSession]) -> list[SupportRecord]:
    async with sessionmaker() as session:
        return list((await session.exec(select(SupportRecord))).all())


class TestRecordThroughTheApi:
    async def test_a_smartphone_given_is_recorded_audited_and_published(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        team, member = await team_with_member(client)
        household = await register(client)

        response = await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"])
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["kind"], body["device"], body["team_id"]) == (
            "device_given",
            "smartphone",
            team["id"],
        )
        assert body["household_code"] == household["household_code"]
        [envelope] = await staged(sessionmaker, RECORDED)
        assert envelope["subject"].startswith("support:")
        assert envelope["sequence"] == 1
        [given] = envelope["data"]["records"]
        assert given["support_id"] == body["id"]
        assert given["unit_path"] == ["26", "246", QUANG_SON]
        assert (given["device"], given["member_id"]) == ("smartphone", member["id"])
        assert "note" not in given
        async with sessionmaker() as session:
            [entry] = (
                await session.exec(
                    select(AuditEntry).where(AuditEntry.action == "support.recorded")
                )
            ).all()
        assert str(entry.household_id) == household["id"]
        assert entry.changes["support_id"] == body["id"]

    async def test_outside_the_scope_the_household_is_not_found(
        self,
        client: httpx.AsyncClient,
        as_role: Callable[..., httpx.AsyncClient],
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)

        async with as_role(Role.COMMUNE_OFFICER, HOP_LY) as other:
            response = await other.post(
                f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"])
            )

        assert response.status_code == 404
        assert await records(sessionmaker) == []

    async def test_a_date_in_the_future_names_given_on(self, client: httpx.AsyncClient) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        tomorrow = date.today() + timedelta(days=1)

        response = await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"], tomorrow)
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "given_on"]
        assert "future" in response.json()["errors"][0]["msg"]

    async def test_a_date_before_the_households_registration_names_given_on(
        self, client: httpx.AsyncClient
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)  # registered today, never surveyed
        yesterday = date.today() - timedelta(days=1)

        response = await client.post(
            f"/api/v1/households/{household['id']}/support",
            json=smartphone(member["id"], yesterday),
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "given_on"]
        assert "registered" in response.json()["errors"][0]["msg"]

    async def test_a_household_surveyed_in_a_past_round_counts_as_registered_then(
        self, client: httpx.AsyncClient
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        round_id = await open_round(client, date(2024, 11, 1))
        survey = survey_json()
        put = await client.put(
            f"/api/v1/households/{household['id']}/assessments/{round_id}", json=survey
        )
        assert put.status_code == 201, put.text

        on_the_day = await client.post(
            f"/api/v1/households/{household['id']}/support",
            json=smartphone(member["id"], date(2024, 11, 1)),
        )
        the_day_before = await client.post(
            f"/api/v1/households/{household['id']}/support",
            json=smartphone(member["id"], date(2024, 10, 31)),
        )

        assert on_the_day.status_code == 201, on_the_day.text
        assert the_day_before.status_code == 422

    async def test_a_member_of_another_communes_team_names_member_id(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, other = await team_with_member(client, HOP_LY)
        household = await register(client)

        response = await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(other["id"])
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "member_id"]
        assert HOP_LY not in response.json()["errors"][0]["msg"]  # nothing told about the other
        assert await records(sessionmaker) == []

    async def test_support_after_the_member_left_names_member_id(
        self, client: httpx.AsyncClient
    ) -> None:
        team, member = await team_with_member(client)
        household = await register(client)
        url = f"/api/v1/communes/{QUANG_SON}/digital-teams/{team['id']}/members/{member['id']}"
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        await client.post(f"{url}/deactivation", json={"left_on": yesterday})

        response = await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"])
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "member_id"]

    async def test_support_outside_the_teams_period_names_given_on(
        self, client: httpx.AsyncClient
    ) -> None:
        team, member = await team_with_member(client)
        household = await register(client)
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        await client.patch(
            f"/api/v1/communes/{QUANG_SON}/digital-teams/{team['id']}",
            json={"active_to": yesterday},
            headers={"If-Match": '"1"'},
        )

        response = await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"])
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "given_on"]

    async def test_a_device_given_without_the_device_names_device(
        self, client: httpx.AsyncClient
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)

        response = await client.post(
            f"/api/v1/households/{household['id']}/support",
            json=smartphone(member["id"], device=None),
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "device"]

    async def test_months_on_a_training_name_subscription_months(
        self, client: httpx.AsyncClient
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        training = smartphone(
            member["id"], kind="digital_skills_training", device=None, subscription_months=3
        )

        response = await client.post(f"/api/v1/households/{household['id']}/support", json=training)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "subscription_months"]

    async def test_an_enumerator_records_an_analyst_may_not(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        url = f"/api/v1/households/{household['id']}/support"

        async with as_role(Role.ENUMERATOR, QUANG_SON) as enumerator:
            entered = await enumerator.post(url, json=smartphone(member["id"]))
        async with as_role(Role.PROVINCE_OFFICER, "26") as province:
            supervised = await province.post(url, json=smartphone(member["id"]))

        assert (entered.status_code, supervised.status_code) == (201, 403)


class TestTheBatch:
    async def test_a_batch_of_many_writes_each_and_publishes_one_message(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        _, member = await team_with_member(client)
        households = [await register(client) for _ in range(5)]
        caller = Caller(subject="test", role=Role.COMMUNE_OFFICER, unit_scope=(QUANG_SON,))
        entries = [
            support_service.Entry(
                SupportInput.model_validate(smartphone(member["id"])),
                commune_code=QUANG_SON,
                household_code=h["household_code"],
            )
            for h in households
        ]

        async with sessionmaker() as session, session.begin():
            outcomes = await support_service.record(session, caller, entries)

        assert all(isinstance(o, support_service.Recorded) for o in outcomes)
        [envelope] = await staged(sessionmaker, RECORDED)
        published = [r["household_id"] for r in envelope["data"]["records"]]
        assert published == [h["id"] for h in households]
        assert len(await records(sessionmaker)) == 5

    async def test_a_bad_entry_writes_nothing_of_itself_and_the_rest_is_written(
        self,
        client: httpx.AsyncClient,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        _, member = await team_with_member(client)
        _, foreign = await team_with_member(client, HOP_LY)
        good, bad = await register(client), await register(client)
        caller = Caller(subject="test", role=Role.ADMIN, unit_scope=None)
        entries = [
            support_service.Entry(
                SupportInput.model_validate(smartphone(member["id"])),
                commune_code=QUANG_SON,
                household_code=good["household_code"],
            ),
            support_service.Entry(
                SupportInput.model_validate(smartphone(foreign["id"], device=None)),
                commune_code=QUANG_SON,
                household_code=bad["household_code"],
            ),
            support_service.Entry(
                SupportInput.model_validate(smartphone(member["id"])),
                commune_code=QUANG_SON,
                household_code="NO-SUCH-HOUSEHOLD",
            ),
        ]

        async with sessionmaker() as session, session.begin():
            recorded, refused, missing = await support_service.record(session, caller, entries)

        assert isinstance(recorded, support_service.Recorded)
        assert isinstance(refused, support_service.Refused)
        assert {r.loc for r in refused.refusals} == {("device",), ("member_id",)}
        assert isinstance(missing, support_service.Refused)
        assert [r.error.status_code for r in missing.refusals] == [404]
        [written] = await records(sessionmaker)
        assert str(written.household_id) == good["id"]
        [envelope] = await staged(sessionmaker, RECORDED)
        assert len(envelope["data"]["records"]) == 1
        async with sessionmaker() as session:
            audited = select(func.count()).where(col(AuditEntry.action).like("support.%"))
            assert (await session.exec(audited)).one() == 1

    async def test_a_batch_with_nothing_valid_publishes_nothing(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, member = await team_with_member(client)
        caller = Caller(subject="test", role=Role.ADMIN, unit_scope=None)
        entry = support_service.Entry(
            SupportInput.model_validate(smartphone(member["id"])),
            commune_code=QUANG_SON,
            household_code="NOBODY",
        )

        async with sessionmaker() as session, session.begin():
            [outcome] = await support_service.record(session, caller, [entry])

        assert isinstance(outcome, support_service.Refused)
        assert await staged(sessionmaker, RECORDED) == []

    async def test_an_import_names_households_only_within_the_callers_scope(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, member = await team_with_member(client, HOP_LY)
        theirs = await register(client, commune_code=HOP_LY)
        caller = Caller(subject="test", role=Role.COMMUNE_OFFICER, unit_scope=(QUANG_SON,))
        entry = support_service.Entry(
            SupportInput.model_validate(smartphone(member["id"])),
            commune_code=HOP_LY,
            household_code=theirs["household_code"],
        )

        async with sessionmaker() as session, session.begin():
            [outcome] = await support_service.record(session, caller, [entry])

        assert isinstance(outcome, support_service.Refused)
        assert outcome.refusals[0].error.status_code == 404
        assert await records(sessionmaker) == []


class TestWithdraw:
    async def test_a_withdrawal_is_published_once_as_sequence_two(
        self, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        url = f"/api/v1/households/{household['id']}/support"
        recorded = (await client.post(url, json=smartphone(member["id"]))).json()

        first = await client.post(
            f"{url}/{recorded['id']}/withdrawal", json={"reason": "Wrong household."}
        )
        again = await client.post(f"{url}/{recorded['id']}/withdrawal", json={"reason": "Again."})

        assert first.status_code == 200
        assert first.json()["withdrawal_reason"] == "Wrong household."
        assert first.json()["withdrawn_at"] is not None
        assert again.status_code == 409
        [envelope] = await staged(sessionmaker, WITHDRAWN)
        assert (envelope["subject"], envelope["sequence"]) == (recorded["id"], 2)
        assert envelope["data"]["reason"] == "Wrong household."

    async def test_a_record_of_another_household_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        _, member = await team_with_member(client)
        one, other = await register(client), await register(client)
        recorded = (
            await client.post(
                f"/api/v1/households/{one['id']}/support", json=smartphone(member["id"])
            )
        ).json()

        response = await client.post(
            f"/api/v1/households/{other['id']}/support/{recorded['id']}/withdrawal",
            json={"reason": "x"},
        )

        assert response.status_code == 404


class TestLists:
    async def test_lists_of_a_household_and_of_a_commune_filter_by_kind_and_date(
        self, client: httpx.AsyncClient
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        url = f"/api/v1/households/{household['id']}/support"
        await client.post(url, json=smartphone(member["id"]))
        subscription = smartphone(
            member["id"], kind="internet_subscription", device=None, subscription_months=12
        )
        await client.post(url, json=subscription)

        mine = (await client.get(url)).json()
        phones = (await client.get(url, params={"kind": "device_given"})).json()
        commune = (
            await client.get(
                f"/api/v1/communes/{QUANG_SON}/support",
                params={"given_from": date.today().isoformat(), "limit": 1},
            )
        ).json()
        later = (
            await client.get(
                f"/api/v1/communes/{QUANG_SON}/support",
                params={"given_from": (date.today() + timedelta(days=1)).isoformat()},
            )
        ).json()

        assert mine["total"] == 2
        assert [item["kind"] for item in phones["items"]] == ["device_given"]
        assert (commune["total"], len(commune["items"])) == (2, 1)
        assert later["total"] == 0

    async def test_notes_are_masked_for_a_province_officer(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"])
        )

        async with as_role(Role.PROVINCE_OFFICER, "26") as province:
            listed = (await province.get(f"/api/v1/communes/{QUANG_SON}/support")).json()

        [item] = listed["items"]
        assert (item["note"], item["personal_data_masked"]) == ("***", True)

    async def test_another_communes_officer_sees_no_support_here(
        self, client: httpx.AsyncClient, as_role: Callable[..., httpx.AsyncClient]
    ) -> None:
        _, member = await team_with_member(client)
        household = await register(client)
        await client.post(
            f"/api/v1/households/{household['id']}/support", json=smartphone(member["id"])
        )

        async with as_role(Role.COMMUNE_OFFICER, HOP_LY) as other:
            commune = await other.get(f"/api/v1/communes/{QUANG_SON}/support")
            theirs = await other.get(f"/api/v1/communes/{HOP_LY}/support")
            one = await other.get(f"/api/v1/households/{household['id']}/support")

        assert (commune.status_code, one.status_code) == (404, 404)
        assert theirs.json()["total"] == 0
