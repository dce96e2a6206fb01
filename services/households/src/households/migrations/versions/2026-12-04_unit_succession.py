"""unit succession: the 2025 crosswalk from old units to new ones

The rows are loaded by `households.migrate` after the schema upgrade (`households.unit.seed`),
which also replaces units loaded from an older source with both trees of the pinned package.

Revision ID: 5b8e1f0c2a71
Revises: b4e7c91d2a60
Create Date: 2026-12-04 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b8e1f0c2a71"
down_revision: str | Sequence[str] | None = "b4e7c91d2a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_succession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("predecessor_code", sa.String(length=5), nullable=False),
        sa.Column("predecessor_valid_from", sa.Date(), nullable=False),
        sa.Column("successor_code", sa.String(length=5), nullable=False),
        sa.Column("successor_valid_from", sa.Date(), nullable=False),
        sa.Column(
            "relation",
            sa.Enum(
                "whole",
                "partial",
                "unchanged",
                "renamed",
                name="successionrelation",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["predecessor_code", "predecessor_valid_from"],
            ["admin_unit.code", "admin_unit.valid_from"],
            name=op.f("fk_unit_succession_predecessor_code_admin_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["successor_code", "successor_valid_from"],
            ["admin_unit.code", "admin_unit.valid_from"],
            name=op.f("fk_unit_succession_successor_code_admin_unit"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_succession")),
        sa.UniqueConstraint(
            "predecessor_code",
            "predecessor_valid_from",
            "successor_code",
            "successor_valid_from",
            name="uq_unit_succession_edge",
        ),
    )
    op.create_index(
        "ix_unit_succession_successor",
        "unit_succession",
        ["successor_code", "successor_valid_from"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_unit_succession_successor", table_name="unit_succession")
    op.drop_table("unit_succession")
