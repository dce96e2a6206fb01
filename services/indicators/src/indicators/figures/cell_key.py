"""Cell-key perturbation: deterministic noise per cell, decided by the records in it.

Every household has a record key, a pseudo-random 32-bit integer: HMAC-SHA256 of its id under
the deployment's secret (`DISCLOSURE_KEY_SECRET`), so the same household has the same key in
every round and after every rebuild, and nobody without the secret can compute it. A counter keeps
the sum of the keys of the households it counts (`counts.py`); the cell key is that sum modulo
2^32, so the same households in a cell always give the same cell key, whatever the order in which
they arrived. The cell key, hashed with what the cell counts (households or persons, so that the
two counts of the same households get independent noise), picks one of 2^16 buckets of the
perturbation table; the bucket's noise is added to the count (see docs/access.md).

The table is a two-sided geometric distribution, P(n) ∝ RATIO^|n| for |n| <= MAX_NOISE, spread
over the buckets with at least one bucket for every value: P(0) ≈ 0.43, E|n| ≈ 0.95, sd ≈ 1.49,
P(n = ±MAX_NOISE) = 2^-16 each.
"""

import hashlib
import hmac
from dataclasses import dataclass
from uuid import UUID

from indicators.config import Settings

KEY_BITS = 32
BUCKET_BITS = 16
RATIO = 0.4
MAX_NOISE = 11


def _noise_table() -> tuple[int, ...]:
    """The noise of each bucket, in increasing order of noise."""
    buckets = 1 << BUCKET_BITS
    weights = {n: RATIO ** abs(n) for n in range(-MAX_NOISE, MAX_NOISE + 1)}
    total = sum(weights.values())
    sizes = {n: max(1, round(buckets * weight / total)) for n, weight in weights.items() if n}
    sizes[0] = buckets - sum(sizes.values())
    return tuple(n for n in sorted(sizes) for _ in range(sizes[n]))


NOISE = _noise_table()


@dataclass(frozen=True)
class RecordKeys:
    """The record key of each household, under the deployment's secret."""

    secret: bytes

    def __call__(self, household_id: UUID) -> int:
        digest = hmac.new(self.secret, household_id.bytes, hashlib.sha256).digest()
        return int.from_bytes(digest[: KEY_BITS // 8], "big")


def counted(metric: str) -> str:
    """What a counter counts: persons, or households (all the others)."""
    return "persons" if metric.startswith("persons.") else "households"


def noise(key_sum: int, counted: str) -> int:
    """The noise of a cell with this sum of record keys that counts `counted`."""
    cell_key = key_sum % (1 << KEY_BITS)
    mixed = hashlib.sha256(f"{counted}:{cell_key}".encode()).digest()
    return NOISE[int.from_bytes(mixed[: BUCKET_BITS // 8], "big")]


def perturb(value: int, key_sum: int, metric: str) -> int:
    """The published value of a cell: zero stays zero, any other count moves by its noise."""
    if value == 0:
        return 0
    return max(0, value + noise(key_sum, counted(metric)))


def record_keys(settings: Settings | None = None) -> RecordKeys:
    """The record keys under the configured secret (the environment's when `settings` is None)."""
    secret = (settings or Settings()).DISCLOSURE_KEY_SECRET.get_secret_value()
    return RecordKeys(secret.encode())
