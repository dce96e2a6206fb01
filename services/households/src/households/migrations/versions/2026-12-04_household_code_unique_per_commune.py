"""household codes unique per commune, not nationally

A national key told whoever registered a code whether a commune outside their scope used it.

Revision ID: 4b9e6c1d2a70
Revises: 5b8e1f0c2a71
Create Date: 2026-12-04 20:00:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "4b9e6c1d2a70"
down_revision: str | Sequence[str] | None = "5b8e1f0c2a71"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_household_household_code"), table_name="household")
    op.create_index(op.f("ix_household_household_code"), "household", ["household_code"])
    with op.batch_alter_table("household") as batch:  # SQLite rebuilds the table for this
        batch.create_unique_constraint(
            op.f("uq_household_commune_code_household_code"),
            ["commune_code", "household_code"],
        )


def downgrade() -> None:
    with op.batch_alter_table("household") as batch:
        batch.drop_constraint(op.f("uq_household_commune_code_household_code"), type_="unique")
    op.drop_index(op.f("ix_household_household_code"), table_name="household")
    op.create_index(
        op.f("ix_household_household_code"), "household", ["household_code"], unique=True
    )
