from uuid import UUID

from kit.errors import Conflict, NotFound


class RoundNotFound(NotFound):
    def __init__(self, round_id: UUID) -> None:
        super().__init__(f"Review round {round_id} does not exist.")


class RoundAlreadyExists(Conflict):
    def __init__(self, year: int, kind: str) -> None:
        super().__init__(f"A {kind} review round of {year} with that reference date exists.")
