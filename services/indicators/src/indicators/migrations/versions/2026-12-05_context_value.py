"""context_value: public statistics per unit and year shown beside the information rates

Revision ID: 5d1c7a9e3f62
Revises: 5d7b2e9c4a16
Create Date: 2026-12-05 02:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "5d1c7a9e3f62"
down_revision: str | Sequence[str] | None = "5d7b2e9c4a16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "context_value",
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("series", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("unit_path", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source_publisher", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source_title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("source_reference", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("source_retrieved_on", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_code", "year", "series"),
    )


def downgrade() -> None:
    op.drop_table("context_value")
