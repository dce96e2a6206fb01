from uuid import UUID

from kit.errors import NotFound


class CommuneNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"No commune {code!r} in your unit scope.")


class TeamNotFound(NotFound):
    def __init__(self, team_id: UUID) -> None:
        super().__init__(f"Digital team {team_id} does not exist in this commune.")


class MemberNotFound(NotFound):
    def __init__(self, member_id: UUID) -> None:
        super().__init__(f"Team member {member_id} does not exist in this team.")
