"""report_job, and the information dimension's counters for every class

Report files generated as jobs (a province's workbooks) are kept in `report_job`. The counters
now also count the information dimension for average and not-poor households and households
deprived in two or more information indicators (`figures/counts.py`): a recalculation of each
known round is queued so that the worker fills them in for rounds counted before.

Revision ID: 9f1d3b7c2e60
Revises: 8e4b2d6f0c15
Create Date: 2026-12-05 00:00:00.000000

"""

from datetime import UTC, datetime
from typing import Sequence, Union
from uuid import uuid4

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "9f1d3b7c2e60"
down_revision: Union[str, Sequence[str], None] = "8e4b2d6f0c15"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATUS = sa.Enum("queued", "running", "succeeded", "failed", name="reportjobstatus")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "report_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=5), nullable=False),
        sa.Column("map_day", sa.Date(), nullable=True),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("format", sa.String(length=4), nullable=False),
        sa.Column("report", sa.String(length=20), nullable=True),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_by_role", sa.String(length=40), nullable=False),
        sa.Column("unit_scope", sa.JSON(), nullable=True),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_job")),
    )
    op.create_index(op.f("ix_report_job_round_id"), "report_job", ["round_id"], unique=False)
    op.create_index(op.f("ix_report_job_status"), "report_job", ["status"], unique=False)
    op.create_index(op.f("ix_report_job_created_by"), "report_job", ["created_by"], unique=False)
    bind = op.get_bind()
    known = sa.table("round_ref", sa.column("round_id", sa.Uuid()))
    rounds = [row[0] for row in bind.execute(sa.select(known.c.round_id)).all()]
    if rounds:
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
            sa.column("attempts", sa.Integer()),
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
                    "attempts": 0,
                    "requested_at": now,
                }
                for round_id in rounds
            ],
        )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_report_job_created_by"), table_name="report_job")
    op.drop_index(op.f("ix_report_job_status"), table_name="report_job")
    op.drop_index(op.f("ix_report_job_round_id"), table_name="report_job")
    op.drop_table("report_job")
    STATUS.drop(op.get_bind(), checkfirst=True)
