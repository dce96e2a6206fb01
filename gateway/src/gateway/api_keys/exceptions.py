from kit.errors import NotFound, Unauthorized


class ApiKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such API key.")


class InvalidApiKey(Unauthorized):
    def __init__(self) -> None:
        super().__init__(
            "The API key is unknown or revoked.", headers={"WWW-Authenticate": "X-API-Key"}
        )
