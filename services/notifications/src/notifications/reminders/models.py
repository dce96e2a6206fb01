from datetime import date
from uuid import UUID

from sqlalchemy import JSON, Column
from sqlmodel import Field

from notifications.db import Base


class PostingPeriod(Base, table=True):
    """A commune's public posting in a round, learnt from `households.review.step_changed.v1`:
    its end is a reminder occasion."""

    __tablename__ = "posting_period"

    round_id: UUID = Field(primary_key=True)
    commune_code: str = Field(primary_key=True, max_length=5)
    unit_path: list[str] = Field(sa_column=Column(JSON, nullable=False))
    posted_on: date
    ends_on: date = Field(index=True)
    sequence: int  # the review's version: a late, older step changes nothing
