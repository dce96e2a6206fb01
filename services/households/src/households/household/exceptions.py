from uuid import UUID

from kit.errors import Conflict, FieldError, NotFound


class HouseholdNotFound(NotFound):
    def __init__(self, household_id: UUID) -> None:
        super().__init__(f"Household {household_id} does not exist.")


class HouseholdCodeTaken(Conflict):
    def __init__(self, code: str, commune_code: str) -> None:
        super().__init__(
            f"Household code {code!r} is already registered in commune {commune_code}.",
            errors=[FieldError(loc=["body", "household_code"], msg="already registered")],
        )


class AssessmentNotFound(NotFound):
    def __init__(self, household_id: UUID, round_id: UUID) -> None:
        super().__init__(f"Household {household_id} has no assessment in round {round_id}.")
