from kit.errors import NotFound


class StandardNotFound(NotFound):
    def __init__(self, standard_id: str) -> None:
        super().__init__(f"No poverty standard {standard_id!r}.")
        self.standard_id = standard_id


class StandardDataInvalid(ValueError):
    """A standard's data file is malformed; raised at load time, so a bad file never serves."""
