"""A round's ledger: what the households service holds of a round, per commune, in a form the
indicators service can compute from its own copy and compare (reconciliation).

Both sides use `checksum` from here, so the two computations cannot drift apart.
"""

import hashlib
from collections.abc import Iterable
from uuid import UUID

from pydantic import BaseModel, Field

_MODULUS = 2**63  # the sum fits a signed 64-bit integer, as JSON and databases carry it


def version_hash(assessment_id: UUID, version: int) -> int:
    """A 64-bit hash of one assessment at one version."""
    digest = hashlib.sha256(f"{assessment_id}:{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def checksum(versions: Iterable[tuple[UUID, int]]) -> int:
    """An order-independent checksum of (assessment id, version) pairs: the sum of their hashes
    modulo 2**63. A missing, extra or differently versioned assessment changes it."""
    return sum(version_hash(assessment_id, version) for assessment_id, version in versions) % (
        _MODULUS
    )


class CommuneLedger(BaseModel):
    commune_code: str = Field(description="The commune's code.")
    households: int = Field(description="Households surveyed in the round in this commune.")
    checksum: int = Field(
        description="A sum over the surveys' ids and versions: equal ledgers, same surveys."
    )


class RoundLedger(BaseModel):
    round_id: UUID = Field(description="The review round's id.")
    communes: list[CommuneLedger] = Field(
        description="Every commune with surveyed households, by code."
    )


def ledger_of(round_id: UUID, rows: Iterable[tuple[str, UUID, int]]) -> RoundLedger:
    """The ledger of (commune code, assessment id, version) rows, communes in code order."""
    by_commune: dict[str, list[tuple[UUID, int]]] = {}
    for commune_code, assessment_id, version in rows:
        by_commune.setdefault(commune_code, []).append((assessment_id, version))
    return RoundLedger(
        round_id=round_id,
        communes=[
            CommuneLedger(commune_code=code, households=len(pairs), checksum=checksum(pairs))
            for code, pairs in sorted(by_commune.items())
        ],
    )
