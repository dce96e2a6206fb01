from uuid import UUID

from kit.errors import Conflict, NotFound


class SupportNotFound(NotFound):
    def __init__(self, support_id: UUID) -> None:
        super().__init__(f"Support record {support_id} does not exist for this household.")


class AlreadyWithdrawn(Conflict):
    def __init__(self, support_id: UUID) -> None:
        super().__init__(f"Support record {support_id} was already withdrawn.")
