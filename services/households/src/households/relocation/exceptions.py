from households.household.models import Household
from kit.errors import Conflict, FieldError, InvalidInput


class AlreadyOnTheMap(Conflict):
    def __init__(self, household: Household) -> None:
        super().__init__(
            f"Household {household.household_code!r} is registered in commune "
            f"{household.commune_code}, which is in force: there is nothing to relocate."
        )


class NotACandidate(InvalidInput):
    def __init__(self, code: str, old_commune: str, candidates: list[str]) -> None:
        message = (
            f"Commune {code} did not take over commune {old_commune}; choose one of "
            f"{', '.join(candidates)}."
        )
        super().__init__(message, errors=[FieldError(loc=["body", "commune_code"], msg=message)])


class NoFreeCode(Conflict):
    def __init__(self, code: str, commune_code: str) -> None:
        super().__init__(
            f"Household code {code!r} is taken in commune {commune_code}, and so is the code "
            "prefixed with its old commune's: give a household_code.",
            errors=[FieldError(loc=["body", "household_code"], msg="give a code free there")],
        )
