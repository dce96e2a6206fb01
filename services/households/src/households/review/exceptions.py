from collections.abc import Sequence
from uuid import UUID

from kit.contracts.households import ReviewState
from kit.errors import Conflict, NotFound


class CommuneNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"No commune {code!r} on the round's reference date.")


class ProvinceNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"No province {code!r} on the round's reference date.")


class ObjectionNotFound(NotFound):
    def __init__(self, objection_id: UUID) -> None:
        super().__init__(f"Objection {objection_id} does not exist in this commune's review.")


def _listed(states: Sequence[ReviewState]) -> str:
    return ", ".join(state.value for state in states) or "none"


class StepNotAllowed(Conflict):
    """A move the state machine has no arrow for: names where the review is and where it may go."""

    def __init__(
        self, current: ReviewState, to: ReviewState, allowed: Sequence[ReviewState]
    ) -> None:
        after = (
            " (only an admin may reopen an approved review)"
            if current is ReviewState.approved
            else ""
        )
        super().__init__(
            f"The commune's review is {current.value}: it cannot move to {to.value}. "
            f"Allowed next: {_listed(allowed)}{after}."
        )
        self.current = current
        self.allowed = list(allowed)


class WrongState(Conflict):
    """An action that belongs to other states of the review (a meeting after posting, ...)."""

    def __init__(self, action: str, current: ReviewState, allowed: Sequence[ReviewState]) -> None:
        super().__init__(
            f"The commune's review is {current.value}: {action} only while it is "
            f"{_listed(allowed)}."
        )


class ReadOnly(Conflict):
    """A write to a commune whose review in the round is approved."""

    def __init__(self, commune_code: str) -> None:
        super().__init__(
            f"The review of commune {commune_code} in this round is approved: its data is "
            "read-only until an admin reopens it."
        )


class ConcurrentStep(Conflict):
    def __init__(self) -> None:
        super().__init__("The commune's review was moved concurrently: read it again and retry.")
