"""report_job.from_round_id: where the transitions of reports 2 and 3 start

A job fixes the round its transitions start from when it is requested (the one named, else the
previous round of the same kind), so that the file compares what was asked. Null: a job made
without transitions (no earlier round, or restated onto another map).

Revision ID: 5b7e2d9c4a13
Revises: 3e8a6c1f4b27
Create Date: 2026-12-05 03:30:00.000000

"""

from collections.abc import Sequence
from typing import Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "5b7e2d9c4a13"
down_revision: Union[str, Sequence[str], None] = "3e8a6c1f4b27"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("report_job") as batch:
        batch.add_column(sa.Column("from_round_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_job") as batch:
        batch.drop_column("from_round_id")
