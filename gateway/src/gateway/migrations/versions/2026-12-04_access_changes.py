"""access changes: the outbox and token_not_before (tokens issued before a change are refused)

Revision ID: 6e8f1a2b3c4d
Revises: 56d7823fe89e
Create Date: 2026-12-04 21:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6e8f1a2b3c4d"
down_revision: str | Sequence[str] | None = "56d7823fe89e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column(
            "envelope",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_message_id")),
    )
    op.create_index(
        op.f("ix_outbox_message_published_at"), "outbox_message", ["published_at"], unique=False
    )
    op.create_table(
        "token_not_before",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_token_not_before")),
    )


def downgrade() -> None:
    op.drop_table("token_not_before")
    op.drop_index(op.f("ix_outbox_message_published_at"), table_name="outbox_message")
    op.drop_table("outbox_message")
