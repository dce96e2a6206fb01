"""what_if_job: a round classified under a draft standard, beside the official classes

Revision ID: 9b2e4d7a1c63
Revises: 3f6a1c8e2b97
Create Date: 2026-12-05 00:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9b2e4d7a1c63"
down_revision: str | Sequence[str] | None = "3f6a1c8e2b97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("queued", "running", "succeeded", "failed")


def upgrade() -> None:
    # The recalculation jobs' type, created with them on PostgreSQL.
    status = sa.Enum(*STATES, name="jobstatus").with_variant(
        postgresql.ENUM(*STATES, name="jobstatus", create_type=False), "postgresql"
    )
    op.create_table(
        "what_if_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("unit_scope", sa.JSON(), nullable=True),
        sa.Column("base_standard_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", status, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("changed_classes", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_what_if_job_round_id"), "what_if_job", ["round_id"], unique=False)
    op.create_index(op.f("ix_what_if_job_status"), "what_if_job", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_what_if_job_status"), table_name="what_if_job")
    op.drop_index(op.f("ix_what_if_job_round_id"), table_name="what_if_job")
    op.drop_table("what_if_job")
