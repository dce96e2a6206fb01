from datetime import datetime

from sqlmodel import Field

from kit.db import UtcDateTime, utc_now
from notifications.db import Base


class DeadLetterWatch(Base, table=True):
    """How many dead letters a queue of the bus held when last looked at, and how many times the
    count rose: a rise is told once, by whichever worker records it first."""

    __tablename__ = "dead_letter_watch"

    queue: str = Field(primary_key=True, max_length=120)
    dead_letters: int = 0
    rises: int = 0  # numbers the notices: the id of each is derived from it
    checked_at: datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
