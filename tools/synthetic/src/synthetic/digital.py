"""The demo's digital inclusion: a community digital technology team in each commune of today's
map, support given between the two rounds to about half of the households deprived in telecom
use (#11) or information devices (#12) (every second one of a commune, by household code), and
the next round's survey of those households showing
the help (a smartphone given: the household owns one; a subscription: a member uses the
internet), so that the left-behind list shrinks between rounds.

Each stage is resumable like the rest of the demo (`synthetic.demo`): teams are created once per
commune, a commune's support is recorded in one transaction (a commune with support recorded is
done), and the supported households' surveys in the new round a batch to a transaction, each
only where missing. Everything goes through the service's own write paths
(`digital_team.service`, `support.service.record`, `household.surveys.record`), as the API's
requests and imports do.
"""

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from households.digital_team import service as team_service
from households.digital_team.models import DigitalTeam, TeamMember
from households.digital_team.schemas import TeamCreate, TeamMemberCreate
from households.household import surveys
from households.household.models import Assessment, Household
from households.household.schemas import AssessmentInput
from households.round.models import ReviewRound
from households.support import service as support_service
from households.support.models import SupportRecord
from households.support.schemas import SupportInput
from kit.auth import Caller
from kit.contracts.households import Device, SupportKind

log = structlog.get_logger()

# The devices of indicator #12 in VN-2022-2025's default list (a basic phone is not one of them).
INFORMATION_DEVICES = frozenset(Device) - {Device.basic_phone}
TEAMS_FROM = date(2025, 7, 1)  # the first day of today's communes
SUPPORT_FROM, SUPPORT_UNTIL = date(2025, 8, 1), date(2026, 9, 30)  # between the rounds
MEMBERS = (("Nguyễn Thị Hoa", "Tổ trưởng"), ("Trần Văn Minh", "Thành viên"))


@dataclass(frozen=True)
class Loader:
    sessionmaker: async_sessionmaker[AsyncSession]
    caller: Caller
    batch: int


def deprived_in(assessment: Assessment) -> tuple[bool, bool]:
    """(deprived in telecom use #11, deprived in information devices #12) by the survey."""
    return not assessment.internet_use, not (set(assessment.devices) & INFORMATION_DEVICES)


async def support_information_deprived(
    loader: Loader, old_round: ReviewRound, new_round: ReviewRound, resurveyed: Sequence[str]
) -> None:
    """Teams, support and the supported households' next surveys, each where missing. Call it
    after the households are carried onto today's map and before the new round's re-survey."""
    await _teams(loader, old_round)
    await _support(loader, old_round)
    await _resurvey_supported(loader, old_round, new_round, resurveyed)


async def _teams(loader: Loader, old_round: ReviewRound) -> None:
    """A team with two members in each commune where households surveyed in the old round live."""
    async with loader.sessionmaker() as session, session.begin():
        communes = set(
            (
                await session.exec(
                    select(Household.commune_code)
                    .join(Assessment, col(Assessment.household_id) == col(Household.id))
                    .where(Assessment.round_id == old_round.id)
                    .distinct()
                )
            ).all()
        )
        have = set((await session.exec(select(DigitalTeam.commune_code).distinct())).all())
        for code in sorted(communes - have):
            team_in = TeamCreate(
                name=f"Tổ công nghệ số cộng đồng {code}",
                villages=["Toàn xã"],
                active_from=TEAMS_FROM,
            )
            team = await team_service.create(session, code, team_in, loader.caller)
            for name, role in MEMBERS:
                await team_service.add_member(
                    session, team, TeamMemberCreate(full_name=name, role=role)
                )


async def _support(loader: Loader, old_round: ReviewRound) -> None:
    """Per commune, in one transaction: support for its chosen deprived households, mostly
    smartphones, subscriptions where the household had no internet, training for some."""
    async with loader.sessionmaker() as session:
        members = await _members_by_commune(session)
        rows = (
            await session.exec(
                select(Household, Assessment)
                .join(Assessment, col(Assessment.household_id) == col(Household.id))
                .where(Assessment.round_id == old_round.id)
                .order_by(col(Household.commune_code), col(Household.household_code))
            )
        ).all()
        done = set((await session.exec(select(SupportRecord.commune_code).distinct())).all())
    by_commune: dict[str, list[support_service.Entry]] = defaultdict(list)
    deprived_so_far: Counter[str] = Counter()
    for household, assessment in rows:
        telecom, devices = deprived_in(assessment)
        if not (telecom or devices):
            continue
        deprived_so_far[household.commune_code] += 1
        # Every second deprived household of a commune (by code): about half, the same ones at
        # every start, and a commune's only one left for its team to find on the list.
        if deprived_so_far[household.commune_code] % 2 == 1:
            continue
        if household.commune_code in done or household.commune_code not in members:
            continue
        by_commune[household.commune_code].extend(
            support_service.Entry(support, household=household)
            for support in _help(household, telecom, devices, members[household.commune_code])
        )
    given = 0
    for code, entries in sorted(by_commune.items()):
        async with loader.sessionmaker() as session, session.begin():
            for outcome in await support_service.record(session, loader.caller, entries):
                if isinstance(outcome, support_service.Refused):
                    raise outcome.refusals[0].error
        given += len(entries)
        log.info("demo.supporting", commune=code, records=given)


def _help(
    household: Household, telecom: bool, devices: bool, members: Sequence[UUID]
) -> list[SupportInput]:
    digest = _digest(household.household_code)
    given_on = min(
        SUPPORT_FROM + timedelta(days=digest % (SUPPORT_UNTIL - SUPPORT_FROM).days),
        date.today(),
    )
    member = members[digest % len(members)]
    help_given = []
    if devices:
        help_given.append(
            SupportInput(
                kind=SupportKind.device_given,
                device=Device.smartphone,
                given_on=given_on,
                member_id=member,
            )
        )
    if telecom:
        help_given.append(
            SupportInput(
                kind=SupportKind.internet_subscription,
                subscription_months=12,
                given_on=given_on,
                member_id=member,
            )
        )
    if digest % 4 == 0:
        help_given.append(
            SupportInput(
                kind=SupportKind.digital_skills_training, given_on=given_on, member_id=member
            )
        )
    return help_given


async def _resurvey_supported(
    loader: Loader, old_round: ReviewRound, new_round: ReviewRound, resurveyed: Sequence[str]
) -> None:
    """Survey in the new round the supported households of `resurveyed` communes: their answers
    of the old round, with the smartphone they were given and the internet they now use."""
    while True:
        async with loader.sessionmaker() as session, session.begin():
            done = select(Assessment.household_id).where(Assessment.round_id == new_round.id)
            supported = select(SupportRecord.household_id).where(
                col(SupportRecord.withdrawn_at).is_(None)
            )
            statement = (
                select(Household, Assessment)
                .join(Assessment, col(Assessment.household_id) == col(Household.id))
                .where(
                    Assessment.round_id == old_round.id,
                    col(Household.commune_code).in_(resurveyed),
                    col(Household.id).in_(supported),
                    col(Household.id).not_in(done),
                )
                .order_by(col(Household.commune_code), col(Household.household_code))
            )
            rows = (await session.exec(statement.limit(loader.batch))).all()
            kinds = await _kinds_given(session, [household.id for household, _ in rows])
            again = [
                surveys.Survey(_with_help(before, kinds[household.id]), household=household)
                for household, before in rows
            ]
            for outcome in await surveys.record(
                session, again, review_round=new_round, caller=loader.caller
            ):
                if isinstance(outcome, surveys.Refused):
                    raise outcome.refusals[0].error
        if not rows:
            return


def _with_help(before: Assessment, kinds: set[SupportKind]) -> AssessmentInput:
    survey = AssessmentInput.model_validate(before, from_attributes=True)
    changes: dict[str, object] = {}
    if SupportKind.device_given in kinds and Device.smartphone not in survey.devices:
        changes["devices"] = [*survey.devices, Device.smartphone]
    if SupportKind.internet_subscription in kinds:
        changes["internet_use"] = True
    return survey.model_copy(update=changes)


async def _kinds_given(
    session: AsyncSession, household_ids: Sequence[UUID]
) -> dict[UUID, set[SupportKind]]:
    kinds: dict[UUID, set[SupportKind]] = defaultdict(set)
    statement = select(SupportRecord.household_id, SupportRecord.kind).where(
        col(SupportRecord.household_id).in_(household_ids),
        col(SupportRecord.withdrawn_at).is_(None),
    )
    for household_id, kind in (await session.exec(statement)).all():
        kinds[household_id].add(SupportKind(kind))
    return kinds


async def _members_by_commune(session: AsyncSession) -> dict[str, list[UUID]]:
    statement = (
        select(DigitalTeam.commune_code, TeamMember.id)
        .join(TeamMember, col(TeamMember.team_id) == col(DigitalTeam.id))
        .where(col(TeamMember.active))
        .order_by(col(DigitalTeam.commune_code), col(TeamMember.created_at), col(TeamMember.id))
    )
    members: dict[str, list[UUID]] = defaultdict(list)
    for code, member_id in (await session.exec(statement)).all():
        members[code].append(member_id)
    return members


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
