from kit.errors import BadRequest, Unauthorized

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="api"'}


class InvalidCredentials(Unauthorized):
    def __init__(self) -> None:
        # One message for an unknown user, a wrong password and a deactivated account: the
        # answer must not tell which names exist.
        super().__init__("Wrong username or password.", headers=_CHALLENGE)


class InvalidRefreshToken(Unauthorized):
    def __init__(self) -> None:
        super().__init__(
            "The refresh token is invalid, expired or revoked: log in again.", headers=_CHALLENGE
        )


class UnsupportedGrant(BadRequest):
    def __init__(self, grant_type: str) -> None:
        super().__init__(f"Unsupported grant_type {grant_type!r}: use password or refresh_token.")
