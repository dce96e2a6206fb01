"""outbox_message: an index of the unpublished rows by position, for the relay's next batch

Revision ID: 6a2d8f4c1e95
Revises: 5d1c7a9e3f62
Create Date: 2026-12-05 14:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a2d8f4c1e95"
down_revision: str | Sequence[str] | None = "5d1c7a9e3f62"
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
