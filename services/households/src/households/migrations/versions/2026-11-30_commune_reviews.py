"""commune reviews: state and steps, village meetings, posting objections, province approvals

Revision ID: b4e7c91d2a60
Revises: 7a1d2c3e4f50
Create Date: 2026-11-30 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4e7c91d2a60"
down_revision: str | Sequence[str] | None = "7a1d2c3e4f50"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _state() -> sa.Enum:
    return sa.Enum(
        "open", "surveyed", "posted", "approved", name="reviewstate", native_enum=False, length=16
    )


def _round_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["round_id"], ["review_round.id"], name=op.f(f"fk_{table}_round_id_review_round")
    )


def upgrade() -> None:
    op.create_table(
        "commune_review",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("district_code", sa.String(length=3), nullable=False),
        sa.Column("state", _state(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("posting_from", sa.Date(), nullable=True),
        sa.Column("posting_until", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _round_key("commune_review"),
        sa.PrimaryKeyConstraint("round_id", "commune_code", name=op.f("pk_commune_review")),
    )
    op.create_index(op.f("ix_commune_review_province_code"), "commune_review", ["province_code"])
    op.create_table(
        "review_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("from_state", _state(), nullable=False),
        sa.Column("to_state", _state(), nullable=False),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_step")),
    )
    op.create_index("ix_review_step_commune", "review_step", ["round_id", "commune_code"])
    op.create_table(
        "village_meeting",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("village", sa.String(length=120), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("attendance", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        _round_key("village_meeting"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_meeting")),
    )
    op.create_index("ix_village_meeting_commune", "village_meeting", ["round_id", "commune_code"])
    op.create_table(
        "meeting_agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("agreeing", sa.Integer(), nullable=False),
        sa.Column("assessment_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["village_meeting.id"],
            name=op.f("fk_meeting_agreement_meeting_id_village_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_agreement")),
    )
    for column in ("meeting_id", "household_id"):
        op.create_index(op.f(f"ix_meeting_agreement_{column}"), "meeting_agreement", [column])
    op.create_table(
        "posting_objection",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("lodged_on", sa.Date(), nullable=False),
        sa.Column("lodged_by", sa.String(length=120), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("upheld", "rejected", name="objectionoutcome", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("recheck_note", sa.String(length=1000), nullable=True),
        sa.Column("rechecked_by", sa.String(length=120), nullable=True),
        sa.Column("rechecked_at", sa.DateTime(timezone=True), nullable=True),
        _round_key("posting_objection"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posting_objection")),
    )
    op.create_index(
        "ix_posting_objection_commune", "posting_objection", ["round_id", "commune_code"]
    )
    op.create_table(
        "province_approval",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("communes", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        _round_key("province_approval"),
        sa.PrimaryKeyConstraint("round_id", "province_code", name=op.f("pk_province_approval")),
    )


def downgrade() -> None:
    for table in (
        "province_approval",
        "posting_objection",
        "meeting_agreement",
        "village_meeting",
        "review_step",
        "commune_review",
    ):
        op.drop_table(table)
