"""left_behind: support records' copies, left-behind households, villages of households

Revision ID: 5d7b2e9c4a16
Revises: 5b7e2d9c4a13
Create Date: 2026-12-05 03:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5d7b2e9c4a16"
down_revision: str | Sequence[str] | None = "5b7e2d9c4a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_copy",
        sa.Column("support_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("support_id"),
    )
    op.create_index(
        "ix_support_copy_household_given_on",
        "support_copy",
        ["household_id", "given_on"],
        unique=False,
    )
    op.create_table(
        "left_behind_household",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("household_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("standard_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("district_code", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("commune_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("commune_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("unit_path", sa.JSON(), nullable=False),
        sa.Column("household_class", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("survey_date", sa.Date(), nullable=False),
        sa.Column("deprived_indicators", sa.JSON(), nullable=False),
        sa.Column("deprived", sa.Boolean(), nullable=False),
        sa.Column("last_support_on", sa.Date(), nullable=True),
        sa.Column("on_list", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "round_id"),
    )
    op.create_index(
        "ix_left_behind_household_round_commune",
        "left_behind_household",
        ["round_id", "commune_code"],
        unique=False,
    )
    op.create_index(
        "ix_left_behind_household_round_province",
        "left_behind_household",
        ["round_id", "province_code"],
        unique=False,
    )
    with op.batch_alter_table("household_unit_copy") as batch:
        batch.add_column(
            sa.Column("village", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("household_unit_copy") as batch:
        batch.drop_column("village")
    op.drop_index("ix_left_behind_household_round_province", table_name="left_behind_household")
    op.drop_index("ix_left_behind_household_round_commune", table_name="left_behind_household")
    op.drop_table("left_behind_household")
    op.drop_index("ix_support_copy_household_given_on", table_name="support_copy")
    op.drop_table("support_copy")
