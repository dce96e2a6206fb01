"""digital teams, their members, support records; import jobs of a kind (surveys or support)

Revision ID: 8e2f4c6a1d35
Revises: 3d9a6f2c8e17
Create Date: 2026-12-05 03:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8e2f4c6a1d35"
down_revision: str | Sequence[str] | None = "3d9a6f2c8e17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUPPORT_KINDS = (
    "device_given",
    "internet_subscription",
    "digital_skills_training",
    "electronic_identity",
    "online_public_service",
    "other",
)
DEVICES = ("tv", "radio", "desktop_computer", "laptop", "tablet", "smartphone", "basic_phone")


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "digital_team",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", _text(5), nullable=False),
        sa.Column("province_code", _text(2), nullable=False),
        sa.Column("district_code", _text(3), nullable=False),
        sa.Column("name", _text(120), nullable=False),
        sa.Column("villages", sa.JSON(), nullable=False),
        sa.Column("active_from", sa.Date(), nullable=False),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digital_team")),
    )
    for column in ("commune_code", "district_code", "province_code"):
        op.create_index(op.f(f"ix_digital_team_{column}"), "digital_team", [column])
    op.create_table(
        "digital_team_member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("full_name", _text(120), nullable=False),
        sa.Column("role", _text(80), nullable=False),
        sa.Column("phone", _text(20), nullable=True),
        sa.Column("email", _text(254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["digital_team.id"],
            name=op.f("fk_digital_team_member_team_id_digital_team"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digital_team_member")),
    )
    op.create_index(op.f("ix_digital_team_member_team_id"), "digital_team_member", ["team_id"])
    op.create_table(
        "support_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", _text(5), nullable=False),
        sa.Column("province_code", _text(2), nullable=False),
        sa.Column("district_code", _text(3), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*SUPPORT_KINDS, name="supportkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "device",
            sa.Enum(*DEVICES, name="device", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("subscription_months", sa.Integer(), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("note", _text(1000), nullable=True),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", _text(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", _text(200), nullable=True),
        sa.Column("withdrawal_reason", _text(1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_support_record_household_id_household"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["digital_team.id"], name=op.f("fk_support_record_team_id_digital_team")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["digital_team_member.id"],
            name=op.f("fk_support_record_member_id_digital_team_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_record")),
    )
    op.create_index(
        "ix_support_record_commune_given_on", "support_record", ["commune_code", "given_on"]
    )
    for column in ("household_id", "member_id", "province_code"):
        op.create_index(op.f(f"ix_support_record_{column}"), "support_record", [column])
    with op.batch_alter_table("import_job") as batch:  # SQLite rebuilds the table for this
        batch.add_column(
            sa.Column(
                "kind",
                sa.Enum("surveys", "support", name="importkind", native_enum=False, length=16),
                nullable=False,
                server_default="surveys",
            )
        )
        batch.alter_column("round_id", existing_type=sa.Uuid(), nullable=True)
    with op.batch_alter_table("import_job") as batch:
        batch.alter_column("kind", server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM import_job WHERE kind = 'support'")
    with op.batch_alter_table("import_job") as batch:
        batch.alter_column("round_id", existing_type=sa.Uuid(), nullable=False)
        batch.drop_column("kind")
    op.drop_table("support_record")
    op.drop_table("digital_team_member")
    op.drop_table("digital_team")
