"""unit_ref per round: each round's figures are read on the unit tree of its own map

The 1 July 2025 map change reused codes under other parents (08707 of district 243, province 26,
before; 08707 of province 25, no district, after). Keyed by code alone, the first-learned parent
won and a round on the other map lost its communes. The table is rebuilt keyed by (round, code)
from what the service kept of the events it learned the tree from: the `unit_path` of every
household classification and of every population copy, per round. The downgrade keeps one
parent per code again (the lowest round's), as before.

Revision ID: 3e8a6c1f4b27
Revises: 9f3a6c1e7b28
Create Date: 2026-12-05 01:00:00.000000

"""

import json
from collections.abc import Iterable, Sequence
from typing import Any, Union
from uuid import UUID

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "3e8a6c1f4b27"
down_revision: Union[str, Sequence[str], None] = "9f3a6c1e7b28"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LEVELS = ("province", "district", "commune")  # as figures/service.py's remember_units
BATCH = 5000


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    paths = _known_paths(bind)
    op.drop_index("ix_unit_ref_parent_code", table_name="unit_ref")
    op.drop_table("unit_ref")
    table = op.create_table(
        "unit_ref",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=5), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent_code", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint("round_id", "unit_code", name=op.f("pk_unit_ref")),
    )
    op.create_index(
        "ix_unit_ref_round_id_parent_code", "unit_ref", ["round_id", "parent_code"], unique=False
    )
    assert table is not None
    rows = _unit_rows(paths)
    for start in range(0, len(rows), BATCH):
        bind.execute(table.insert(), rows[start : start + BATCH])


def downgrade() -> None:
    """Downgrade schema."""
    bind = op.get_bind()
    per_round = sa.table(
        "unit_ref",
        sa.column("round_id", sa.Uuid()),
        sa.column("unit_code", sa.String()),
        sa.column("level", sa.String()),
        sa.column("parent_code", sa.String()),
    )
    statement = sa.select(
        per_round.c.unit_code, per_round.c.level, per_round.c.parent_code
    ).order_by(per_round.c.round_id)
    first: dict[str, dict[str, Any]] = {}
    for code, level, parent in bind.execute(statement).all():
        first.setdefault(code, {"unit_code": code, "level": level, "parent_code": parent})
    op.drop_index("ix_unit_ref_round_id_parent_code", table_name="unit_ref")
    op.drop_table("unit_ref")
    table = op.create_table(
        "unit_ref",
        sa.Column("unit_code", sa.String(length=5), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent_code", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_unit_ref")),
    )
    op.create_index("ix_unit_ref_parent_code", "unit_ref", ["parent_code"], unique=False)
    assert table is not None
    rows = [first[code] for code in sorted(first)]
    for start in range(0, len(rows), BATCH):
        bind.execute(table.insert(), rows[start : start + BATCH])


def _known_paths(bind: sa.Connection) -> set[tuple[UUID, tuple[str, ...]]]:
    """Every (round, commune path) the classifications and population copies were counted on:
    distinct in SQL on the JSON's text (JSON itself has no equality on PostgreSQL)."""
    classification = sa.table(
        "household_classification",
        sa.column("round_id", sa.Uuid()),
        sa.column("unit_path", sa.JSON()),
    )
    population = sa.table(
        "population_copy",
        sa.column("round_id", sa.Uuid()),
        sa.column("facts", sa.JSON()),
    )
    paths: set[tuple[UUID, tuple[str, ...]]] = set()
    statement = sa.select(
        classification.c.round_id, sa.cast(classification.c.unit_path, sa.Text())
    ).distinct()
    for round_id, text in bind.execute(statement).all():
        paths.add((round_id, tuple(json.loads(text))))
    # A copy's facts are the population event, whose `unit_path` ends at its commune.
    for round_id, facts in bind.execute(sa.select(population.c.round_id, population.c.facts)):
        if facts.get("unit_path"):
            paths.add((round_id, tuple(facts["unit_path"])))
    return paths


def _unit_rows(paths: Iterable[tuple[UUID, Sequence[str]]]) -> list[dict[str, Any]]:
    """A row per unit of each round's paths: the commune at a path's end, the levels above by
    depth (a province's commune on the two-level map)."""
    units: dict[tuple[UUID, str], tuple[str, str | None]] = {}
    for round_id, path in sorted(paths):
        for depth, code in enumerate(path):
            level = LEVELS[-1] if depth == len(path) - 1 else LEVELS[depth]
            units.setdefault((round_id, code), (level, path[depth - 1] if depth else None))
    return [
        {"round_id": round_id, "unit_code": code, "level": level, "parent_code": parent}
        for (round_id, code), (level, parent) in sorted(units.items())
    ]
