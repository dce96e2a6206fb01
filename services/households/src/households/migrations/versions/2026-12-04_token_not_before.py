"""token_not_before: tokens issued before their subject's access changed are refused

Revision ID: b41c0a7e9d21
Revises: 9c2f4e8a1b36
Create Date: 2026-12-04 21:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b41c0a7e9d21"
down_revision: str | Sequence[str] | None = "9c2f4e8a1b36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "token_not_before",
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_token_not_before")),
    )


def downgrade() -> None:
    op.drop_table("token_not_before")
