from datetime import date

from kit.errors import NotFound


class UnitNotFound(NotFound):
    def __init__(self, code: str, *, on: date | None = None) -> None:
        when = f" on {on.isoformat()}" if on is not None else ""
        super().__init__(f"No administrative unit {code!r}{when}.")
        self.code = code
        self.on = on


class UnknownDivisionType(ValueError):
    """A unit name starts with no known division prefix; raised while seeding, so nothing loads."""


class UnmatchedCrosswalk(ValueError):
    """The crosswalk names a unit the dataset lacks; raised while seeding, so nothing loads."""
