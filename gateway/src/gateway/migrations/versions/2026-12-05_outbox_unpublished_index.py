"""outbox_message: an index of the unpublished rows by position, for the relay's next batch

Revision ID: 8e4b2a6d9c37
Revises: 7c3d9e2a5b14
Create Date: 2026-12-05 14:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e4b2a6d9c37"
down_revision: str | Sequence[str] | None = "7c3d9e2a5b14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_message_unpublished",
        "outbox_message",
        ["position"],
        unique=False,
        postgresql_where=UNPUBLISHED,
        sqlite_where=UNPUBLISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_message_unpublished", table_name="outbox_message")
