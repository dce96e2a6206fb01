"""restated figures and approval status: the crosswalk, households' current communes, review states

Copies of `households.units.successions_recorded.v1`, of each household's registered commune,
of commune review steps and province approvals; the reference date of each round (from its
assessments' copies); each classification's record key, which a recalculation of each known
round (queued here) fills in.

Revision ID: 6d2f8e1b0a53
Revises: c52d1b8f0e32
Create Date: 2026-12-04 10:00:00.000000

"""

from datetime import UTC, date, datetime
from typing import Sequence, Union
from uuid import uuid4

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = "6d2f8e1b0a53"
down_revision: Union[str, Sequence[str], None] = "c52d1b8f0e32"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "unit_succession_copy",
        sa.Column("predecessor_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("predecessor_valid_from", sa.Date(), nullable=False),
        sa.Column("successor_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("successor_valid_from", sa.Date(), nullable=False),
        sa.Column(
            "predecessor_province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False
        ),
        sa.Column("successor_level", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column(
            "successor_province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False
        ),
        sa.Column("successor_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("relation", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("effective", sa.Date(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "predecessor_code", "predecessor_valid_from", "successor_code", "successor_valid_from"
        ),
    )
    op.create_index(
        "ix_unit_succession_copy_predecessor_province_code",
        "unit_succession_copy",
        ["predecessor_province_code"],
        unique=False,
    )
    op.create_index(
        "ix_unit_succession_copy_successor_province",
        "unit_succession_copy",
        ["successor_province_code"],
        unique=False,
    )
    op.create_index(
        "ix_unit_succession_copy_successor",
        "unit_succession_copy",
        ["successor_code"],
        unique=False,
    )
    op.create_table(
        "household_unit_copy",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("unit_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_table(
        "commune_review_copy",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("commune_code", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("round_id", "commune_code"),
    )
    op.create_table(
        "province_approval_copy",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("round_id", "province_code"),
    )
    with op.batch_alter_table("round_ref") as batch:
        batch.add_column(sa.Column("reference_date", sa.Date(), nullable=True))
    with op.batch_alter_table("household_classification") as batch:
        batch.add_column(sa.Column("record_key", sa.BigInteger(), nullable=True))

    bind = op.get_bind()
    rounds = sa.table(
        "round_ref", sa.column("round_id", sa.Uuid()), sa.column("reference_date", sa.Date())
    )
    copies = sa.table(
        "assessment_copy", sa.column("round_id", sa.Uuid()), sa.column("facts", sa.JSON())
    )
    known = [row[0] for row in bind.execute(sa.select(rounds.c.round_id)).all()]
    for round_id in known:
        facts = bind.execute(
            sa.select(copies.c.facts).where(copies.c.round_id == round_id).limit(1)
        ).scalar()
        if facts and facts.get("reference_date"):
            bind.execute(
                rounds.update()
                .where(rounds.c.round_id == round_id)
                .values(reference_date=date.fromisoformat(facts["reference_date"]))
            )
    if known:
        jobs = sa.table(
            "recalculation_job",
            sa.column("id", sa.Uuid()),
            sa.column("round_id", sa.Uuid()),
            sa.column(
                "status",
                sa.Enum("queued", "running", "succeeded", "failed", name="jobstatus"),
            ),
            sa.column("total", sa.Integer()),
            sa.column("done", sa.Integer()),
            sa.column("changed_classes", sa.Integer()),
            sa.column("figures_changed", sa.Integer()),
            sa.column("requested_at", sa.DateTime(timezone=True)),
        )
        now = datetime.now(UTC)
        op.bulk_insert(
            jobs,
            [
                {
                    "id": uuid4(),
                    "round_id": round_id,
                    "status": "queued",
                    "total": 0,
                    "done": 0,
                    "changed_classes": 0,
                    "figures_changed": 0,
                    "requested_at": now,
                }
                for round_id in known
            ],
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("household_classification") as batch:
        batch.drop_column("record_key")
    with op.batch_alter_table("round_ref") as batch:
        batch.drop_column("reference_date")
    op.drop_table("province_approval_copy")
    op.drop_table("commune_review_copy")
    op.drop_table("household_unit_copy")
    op.drop_index("ix_unit_succession_copy_successor", table_name="unit_succession_copy")
    op.drop_index("ix_unit_succession_copy_successor_province", table_name="unit_succession_copy")
    op.drop_index(
        "ix_unit_succession_copy_predecessor_province_code", table_name="unit_succession_copy"
    )
    op.drop_table("unit_succession_copy")
