from uuid import UUID

from kit.errors import FieldError, InvalidInput, NotFound


class ConflictNotFound(NotFound):
    def __init__(self, conflict_id: UUID) -> None:
        super().__init__(f"Conflict {conflict_id} does not exist.")


class NotAParty(InvalidInput):
    def __init__(self, household_id: UUID) -> None:
        message = f"Household {household_id} is not one of the conflict's two households."
        super().__init__(
            message, errors=[FieldError(loc=["body", "kept_household_id"], msg=message)]
        )
