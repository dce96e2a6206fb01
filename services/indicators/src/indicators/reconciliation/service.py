"""Reconciliation: prove this service's copy of a round's assessments against the households
service's own figures, and have the round published again to rebuild what the copy misses."""

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from indicators.classification.models import AssessmentCopy
from indicators.reconciliation.schemas import CommuneDifference, HouseholdCounts
from kit.contracts.ledger import CommuneLedger, RoundLedger, ledger_of


async def ledger(session: AsyncSession, round_id: UUID) -> RoundLedger:
    """The round's ledger as the copy has it (the same computation as the households service's,
    over one query of three narrow columns per copy)."""
    rows = await session.exec(
        select(
            col(AssessmentCopy.facts)["commune_code"].as_string(),
            AssessmentCopy.assessment_id,
            AssessmentCopy.sequence,  # an assessment event's sequence is its version
        ).where(AssessmentCopy.round_id == round_id)
    )
    return ledger_of(round_id, rows.all())


def differences(source: RoundLedger, copy: RoundLedger) -> list[CommuneDifference]:
    """The communes whose count or checksum differ, in code order; a commune only one side has
    counts zero on the other."""
    theirs = {commune.commune_code: commune for commune in source.communes}
    ours = {commune.commune_code: commune for commune in copy.communes}
    found = []
    for code in sorted(theirs.keys() | ours.keys()):
        expected = theirs.get(code, CommuneLedger(commune_code=code, households=0, checksum=0))
        held = ours.get(code, CommuneLedger(commune_code=code, households=0, checksum=0))
        if expected != held:
            found.append(
                CommuneDifference(
                    commune_code=code,
                    households=HouseholdCounts(source=expected.households, held=held.households),
                    checksum_matches=expected.checksum == held.checksum,
                )
            )
    return found
