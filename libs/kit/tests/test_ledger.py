from uuid import UUID, uuid4

from kit.contracts.ledger import checksum, ledger_of, version_hash

A, B, C = (UUID(int=n) for n in (1, 2, 3))


def test_the_checksum_does_not_depend_on_order() -> None:
    assert checksum([(A, 1), (B, 2), (C, 3)]) == checksum([(C, 3), (A, 1), (B, 2)])


def test_a_missing_extra_or_other_version_changes_the_checksum() -> None:
    whole = checksum([(A, 1), (B, 2)])

    assert checksum([(A, 1)]) != whole
    assert checksum([(A, 1), (B, 2), (C, 1)]) != whole
    assert checksum([(A, 1), (B, 3)]) != whole
    # The version belongs to its assessment: swapping versions between two is seen too.
    assert checksum([(A, 2), (B, 1)]) != whole


def test_the_checksum_is_the_sum_of_the_hashes_within_63_bits() -> None:
    pairs = [(uuid4(), version) for version in range(1, 200)]

    total = sum(version_hash(*pair) for pair in pairs)
    assert total >= 2**63  # enough pairs to wrap around
    assert checksum(pairs) == total % 2**63
    assert checksum([]) == 0


def test_the_ledger_counts_and_sums_per_commune_in_code_order() -> None:
    ledger = ledger_of(A, [("08764", B, 2), ("08707", A, 1), ("08764", C, 1)])

    assert ledger.round_id == A
    assert [(c.commune_code, c.households, c.checksum) for c in ledger.communes] == [
        ("08707", 1, checksum([(A, 1)])),
        ("08764", 2, checksum([(B, 2), (C, 1)])),
    ]
