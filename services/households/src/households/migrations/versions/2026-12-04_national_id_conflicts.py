"""national ID conflicts: a person recorded in two households of a round, for supervisors

Revision ID: 9c2f4e8a1b36
Revises: 4b9e6c1d2a70
Create Date: 2026-12-04 21:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c2f4e8a1b36"
down_revision: str | Sequence[str] | None = "4b9e6c1d2a70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = ("round_id", "holder_id", "claimant_id")


def upgrade() -> None:
    columns = [
        sa.Column(f"{party}_{level}_code", sa.String(length=size), nullable=False)
        for party in ("holder", "claimant")
        for level, size in (("province", 2), ("district", 3), ("commune", 5))
    ]
    op.create_table(
        "national_id_conflict",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("national_id_hash", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.Uuid(), nullable=False),
        sa.Column("claimant_id", sa.Uuid(), nullable=False),
        sa.Column("holder_household_id", sa.Uuid(), nullable=False),
        sa.Column("claimant_household_id", sa.Uuid(), nullable=False),
        *columns,
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("kept_household_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["assessment.id"],
            name=op.f("fk_national_id_conflict_holder_id_assessment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["claimant_id"],
            ["assessment.id"],
            name=op.f("fk_national_id_conflict_claimant_id_assessment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_national_id_conflict")),
        sa.UniqueConstraint(
            "claimant_id",
            "national_id_hash",
            name=op.f("uq_national_id_conflict_claimant_id_national_id_hash"),
        ),
    )
    for column in INDEXED:
        op.create_index(op.f(f"ix_national_id_conflict_{column}"), "national_id_conflict", [column])


def downgrade() -> None:
    for column in INDEXED:
        op.drop_index(op.f(f"ix_national_id_conflict_{column}"), table_name="national_id_conflict")
    op.drop_table("national_id_conflict")
