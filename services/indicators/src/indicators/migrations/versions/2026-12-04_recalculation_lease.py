"""recalculation_job.heartbeat_at and attempts: a lease, so that a job whose worker died is
taken again

Revision ID: 8e4b2d6f0c15
Revises: 7a3c9e5f1d24
Create Date: 2026-12-04 22:35:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "8e4b2d6f0c15"
down_revision: str | Sequence[str] | None = "7a3c9e5f1d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recalculation_job") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("recalculation_job") as batch:
        batch.drop_column("attempts")
        batch.drop_column("heartbeat_at")
