"""Gateway settings: where the services are, how long to wait for them, identity and protections."""

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from kit.settings import AppSettings

MiB = 1024 * 1024


class Settings(AppSettings):
    SERVICE_NAME: str = "gateway"

    API_VERSION: str = "0.1.0"

    HOUSEHOLDS_URL: str = "http://localhost:8001"
    INDICATORS_URL: str = "http://localhost:8002"
    NOTIFICATIONS_URL: str = "http://localhost:8003"

    UPSTREAM_CONNECT_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)
    # Generous: report and recalculation reads can be slow; waiting beyond it is a 504.
    UPSTREAM_READ_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0)
    # Health and OpenAPI probes fail fast so a sick service cannot stall the answer about all.
    HEALTH_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)
    OPENAPI_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    OPENAPI_CACHE_SECONDS: float = Field(default=30.0, ge=0)

    # --- Identity: users, refresh tokens and API keys live in the gateway's own database -------
    DATABASE_URL: str = "sqlite+aiosqlite:///data/gateway.db"
    # The Ed25519 private key (PEM) that signs access tokens; created on first start if missing.
    SIGNING_KEY_FILE: Path = Path("data/signing-key.pem")
    # Short-lived on purpose: a token cannot be recalled, a refresh token can.
    ACCESS_TOKEN_MINUTES: int = Field(default=15, ge=1, le=15)
    REFRESH_TOKEN_DAYS: int = Field(default=14, ge=1, le=90)
    # What a request with an API key is forwarded with: a token minted for that one request.
    API_KEY_TOKEN_SECONDS: int = Field(default=60, ge=5, le=900)
    # Changes of access (a user deactivated, re-scoped, a key revoked) are published to every
    # service (`gateway.access`) by a relay in each gateway process, from the gateway's outbox.
    # "inprocess" only where every app shares one process (the embedded runner).
    MESSAGE_BUS: Literal["rabbitmq", "inprocess"] = "rabbitmq"
    RABBITMQ_URL: str = "amqp://guest:guest@localhost:5672/"
    PUBLISH_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    RELAY_BATCH_SIZE: int = Field(default=200, ge=1)
    RELAY_POLL_SECONDS: float = Field(default=0.2, gt=0)
    # A new password's least length (NIST SP 800-63B-4: at least 15 for a password that is the
    # only factor, as here; 8 is its floor where another factor is required). Common, repeated,
    # sequential and username-based passwords are refused at any length (`gateway.passwords`).
    PASSWORD_MIN_LENGTH: int = Field(default=15, ge=8, le=64)
    # Applied by `python -m gateway.migrate` when no active admin exists (both or neither).
    FIRST_ADMIN_USERNAME: str | None = None
    FIRST_ADMIN_PASSWORD: SecretStr | None = None

    # --- Protections ------------------------------------------------------------------------
    # Per caller (token subject, API key, or client address when anonymous), in each gateway
    # process: a bucket of RATE_LIMIT_BURST requests refilled at RATE_LIMIT_PER_SECOND.
    RATE_LIMIT_PER_SECOND: float = Field(default=20.0, gt=0)
    RATE_LIMIT_BURST: int = Field(default=200, ge=1)
    # The token endpoint: per (username, client address), a few failures in a row are free, then
    # each try waits, the wait doubling per failure up to the maximum; a success starts afresh.
    # Per username alone would let anyone lock the owner out; per pair slows the guesser only.
    LOGIN_FREE_FAILURES: int = Field(default=5, ge=1)
    LOGIN_FIRST_DELAY_SECONDS: float = Field(default=1.0, gt=0)
    LOGIN_MAX_DELAY_SECONDS: float = Field(default=300.0, gt=0)
    # And per client address across usernames (every grant): one address trying many users.
    LOGIN_ATTEMPTS_PER_MINUTE: float = Field(default=30.0, gt=0)
    LOGIN_ATTEMPTS_BURST: int = Field(default=30, ge=1)
    MAX_BODY_BYTES: int = Field(default=1 * MiB, ge=1024)
    MAX_IMPORT_BODY_BYTES: int = Field(default=256 * MiB, ge=1024)
    # Origins of browser apps allowed to call the API (JSON list or comma-separated); none: no
    # cross-origin calls.
    CORS_ALLOW_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Reverse proxies (addresses or CIDR networks, JSON list or comma-separated) whose
    # X-Forwarded-For and X-Forwarded-Proto the gateway believes; none: the peer is the client.
    # The client is the rightmost address of X-Forwarded-For that is not a trusted proxy.
    TRUSTED_PROXIES: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)

    @field_validator("CORS_ALLOW_ORIGINS", "TRUSTED_PROXIES", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _first_admin_complete(self) -> Self:
        if (self.FIRST_ADMIN_USERNAME is None) != (self.FIRST_ADMIN_PASSWORD is None):
            raise ValueError("Set both FIRST_ADMIN_USERNAME and FIRST_ADMIN_PASSWORD, or neither.")
        return self

    def upstream_urls(self) -> dict[str, str]:
        """Base URL of every upstream, keyed by the names the routing table uses."""
        return {
            "households": self.HOUSEHOLDS_URL,
            "indicators": self.INDICATORS_URL,
            "notifications": self.NOTIFICATIONS_URL,
        }
