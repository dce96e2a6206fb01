"""dead_letter_watch: each bus queue's dead-letter count when last looked at, so that a rise is
told once (`deadletter.message` subscriptions)

Revision ID: 9d3b7e5a2c61
Revises: c4f2a8d61e07
Create Date: 2026-12-05 03:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d3b7e5a2c61"
down_revision: str | Sequence[str] | None = "c4f2a8d61e07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_letter_watch",
        sa.Column("queue", sa.String(length=120), nullable=False),
        sa.Column("dead_letters", sa.Integer(), nullable=False),
        sa.Column("rises", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_dead_letter_watch")),
    )


def downgrade() -> None:
    op.drop_table("dead_letter_watch")
