"""unit_figure.key_sum: the cell keys of cell-key perturbation

Existing counters start with a key sum of 0; a recalculation of each known round is queued so that
the worker fills them in from the assessment copies (until then, restricted callers' figures are
perturbed with the noise of key 0).

Revision ID: 5c1e7d0a9f42
Revises: 5b0e7d2c9a41
Create Date: 2026-12-04 21:00:00.000000

"""

from datetime import UTC, datetime
from typing import Sequence, Union
from uuid import uuid4

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "5c1e7d0a9f42"
down_revision: Union[str, Sequence[str], None] = "5b0e7d2c9a41"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("unit_figure") as batch:
        batch.add_column(
            sa.Column("key_sum", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
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
                for round_id in rounds
            ],
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("unit_figure") as batch:
        batch.drop_column("key_sum")
