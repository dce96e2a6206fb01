"""round_ref.kind: periodic or regular, learned from households.round.opened.v1

Revision ID: 7a3c9e5f1d24
Revises: 6d2f8e1b0a53
Create Date: 2026-12-04 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7a3c9e5f1d24"
down_revision: str | Sequence[str] | None = "6d2f8e1b0a53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("round_ref") as batch:
        batch.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("round_ref") as batch:
        batch.drop_column("kind")
