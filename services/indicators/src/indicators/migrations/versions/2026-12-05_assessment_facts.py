"""assessment and member facts as columns, for set-wise classification; backfilled from the copies

The facts an indicator needs, from each assessment copy's JSON: one row per assessment in
`assessment_facts`, one per member in `member_facts`. The backfill reads the JSON as it is stored
(no application code), leaving record keys empty: they need the deployment's secret, and the
first recalculation of a round (or `python -m indicators.facts`) computes them.

Revision ID: 9f3a6c1e7b28
Revises: 9b2e4d7a1c63
Create Date: 2026-12-05 00:00:00.000000

"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9f3a6c1e7b28"
down_revision: str | Sequence[str] | None = "9b2e4d7a1c63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def _string(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    facts = op.create_table(
        "assessment_facts",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("standard_id", _string(40), nullable=False),
        sa.Column("unit_path", _string(40), nullable=False),
        sa.Column("area", _string(5), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("has_dwelling", sa.Boolean(), nullable=False),
        sa.Column("walls_durable", sa.Boolean(), nullable=False),
        sa.Column("columns_durable", sa.Boolean(), nullable=False),
        sa.Column("roof_durable", sa.Boolean(), nullable=False),
        sa.Column("floor_area_m2", sa.Float(), nullable=False),
        sa.Column("water_source", _string(40), nullable=False),
        sa.Column("latrine", _string(40), nullable=False),
        sa.Column("internet_use", sa.Boolean(), nullable=False),
        sa.Column("devices", _string(400), nullable=False),
        sa.Column("income_score_a", sa.Integer(), nullable=True),
        sa.Column("monthly_income_per_person", sa.BigInteger(), nullable=True),
        sa.Column("record_key", sa.BigInteger(), nullable=True),
        sa.Column("record_key_check", _string(16), nullable=True),
        sa.Column("classified_under", _string(16), nullable=True),
        sa.PrimaryKeyConstraint("assessment_id"),
    )
    op.create_index(
        "ix_assessment_facts_round", "assessment_facts", ["round_id", "standard_id"], unique=False
    )
    members = op.create_table(
        "member_facts",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_no", sa.Integer(), nullable=False),
        sa.Column("age_years", sa.Integer(), nullable=False),
        sa.Column("sex", _string(10), nullable=False),
        sa.Column("working_status", _string(40), nullable=False),
        sa.Column("has_labour_contract", sa.Boolean(), nullable=True),
        sa.Column("receives_pension_or_allowance", sa.Boolean(), nullable=False),
        sa.Column("disability", _string(40), nullable=False),
        sa.Column("has_health_insurance", sa.Boolean(), nullable=False),
        sa.Column("attending_school", sa.Boolean(), nullable=False),
        sa.Column("school_level", _string(40), nullable=True),
        sa.Column("highest_qualification", _string(40), nullable=False),
        sa.Column("stunted", sa.Boolean(), nullable=False),
        sa.Column("underweight", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", "position"),
    )
    _backfill(facts, members)


def _backfill(facts: sa.Table, members: sa.Table) -> None:
    copies = sa.table(
        "assessment_copy",
        sa.column("assessment_id", sa.Uuid()),
        sa.column("sequence", sa.Integer()),
        sa.column("facts", sa.JSON()),
    )
    connection = op.get_bind()
    last: Any = None
    while True:
        statement = sa.select(copies.c.assessment_id, copies.c.sequence, copies.c.facts)
        if last is not None:
            statement = statement.where(copies.c.assessment_id > last)
        batch = connection.execute(statement.order_by(copies.c.assessment_id).limit(BATCH)).all()
        if not batch:
            return
        households = [_household(sequence, data) for _, sequence, data in batch]
        people = [row for _, _, data in batch for row in _members(data)]
        connection.execute(facts.insert(), households)
        if people:
            connection.execute(members.insert(), people)
        last = batch[-1][0]


def _household(sequence: int, data: dict[str, Any]) -> dict[str, Any]:
    dwelling = data["dwelling"]
    return {
        "assessment_id": UUID(data["assessment_id"]),
        "round_id": UUID(data["round_id"]),
        "household_id": UUID(data["household_id"]),
        "sequence": sequence,
        "standard_id": data["standard_id"],
        "unit_path": "/" + "/".join(data["unit_path"]) + "/",
        "area": data["area"],
        "persons": len(data["members"]),
        "has_dwelling": dwelling.get("has_dwelling", True),
        "walls_durable": dwelling.get("walls_durable", True),
        "columns_durable": dwelling.get("columns_durable", True),
        "roof_durable": dwelling.get("roof_durable", True),
        "floor_area_m2": float(dwelling["floor_area_m2"]),
        "water_source": data["water_source"],
        "latrine": data["latrine"],
        "internet_use": data["internet_use"],
        "devices": "|" + "|".join(sorted(set(data["devices"]))) + "|",
        "income_score_a": data.get("income_score_a"),
        "monthly_income_per_person": data.get("monthly_income_per_person"),
        "record_key": None,
        "record_key_check": None,
        "classified_under": None,
    }


def _members(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "assessment_id": UUID(data["assessment_id"]),
            "position": position,
            "member_no": member["member_no"],
            "age_years": member["age_years"],
            "sex": member["sex"],
            "working_status": member["working_status"],
            "has_labour_contract": member.get("has_labour_contract"),
            "receives_pension_or_allowance": member.get("receives_pension_or_allowance", False),
            "disability": member.get("disability", "none"),
            "has_health_insurance": member["has_health_insurance"],
            "attending_school": member.get("attending_school", False),
            "school_level": member.get("school_level"),
            "highest_qualification": member.get("highest_qualification", "none"),
            "stunted": member.get("stunted", False),
            "underweight": member.get("underweight", False),
        }
        for position, member in enumerate(data["members"])
    ]


def downgrade() -> None:
    op.drop_table("member_facts")
    op.drop_index("ix_assessment_facts_round", table_name="assessment_facts")
    op.drop_table("assessment_facts")
