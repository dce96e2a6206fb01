from kit.errors import ServiceUnavailable


class HouseholdsUnavailable(ServiceUnavailable):
    def __init__(self, detail: str) -> None:
        super().__init__(f"The households service could not be asked: {detail}")
