"""The gateway's signing key in use: access tokens for users and for requests with an API key."""

from datetime import timedelta
from pathlib import Path

from gateway.config import Settings
from kit.auth import Role, SigningKey


def load_signing_key(path: Path) -> SigningKey:
    """The key in `path`, created when missing (by whichever process starts first)."""
    try:
        return SigningKey.load_or_create(path)
    except FileExistsError:
        # Another gateway process created it between our look and our create.
        return SigningKey.from_pem(path.read_bytes())


class TokenIssuer:
    def __init__(self, key: SigningKey, settings: Settings) -> None:
        self.key = key
        self._settings = settings
        self.access_lifetime = timedelta(minutes=settings.ACCESS_TOKEN_MINUTES)
        self.api_key_lifetime = timedelta(seconds=settings.API_KEY_TOKEN_SECONDS)

    def issue(
        self,
        *,
        subject: str,
        role: Role,
        unit_scope: tuple[str, ...] | None,
        lifetime: timedelta | None = None,
    ) -> str:
        return self.key.issue(
            issuer=self._settings.AUTH_ISSUER,
            audience=self._settings.AUTH_AUDIENCE,
            subject=subject,
            role=role,
            unit_scope=unit_scope,
            lifetime=lifetime or self.access_lifetime,
        )
