"""recalculation jobs carry the unit scope of who asked: only those units' counters are redone

Revision ID: 5b0e7d2c9a41
Revises: 84eca868b213
Create Date: 2026-12-01 10:00:00.000000

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "5b0e7d2c9a41"
down_revision: Union[str, Sequence[str], None] = "84eca868b213"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("recalculation_job", sa.Column("unit_scope", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("recalculation_job", "unit_scope")
