"""audit log

Revision ID: 7a1d2c3e4f50
Revises: fe4fa6271723
Create Date: 2026-11-29 18:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a1d2c3e4f50"
down_revision: str | Sequence[str] | None = "fe4fa6271723"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXED = ("at", "actor", "household_id", "province_code", "district_code", "commune_code")


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("province_code", sa.String(length=2), nullable=True),
        sa.Column("district_code", sa.String(length=3), nullable=True),
        sa.Column("commune_code", sa.String(length=5), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    for column in INDEXED:
        op.create_index(op.f(f"ix_audit_entry_{column}"), "audit_entry", [column])


def downgrade() -> None:
    for column in INDEXED:
        op.drop_index(op.f(f"ix_audit_entry_{column}"), table_name="audit_entry")
    op.drop_table("audit_entry")
