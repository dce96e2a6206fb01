from typing import Literal

from pydantic import Field, SecretStr

from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "notifications"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/notifications.db"

    # Where links in e-mails point (the gateway's public address).
    PUBLIC_BASE_URL: str = "http://127.0.0.1:8000"
    # Signs the unsubscribe links of e-mails; set a long random value in production.
    UNSUBSCRIBE_SECRET: SecretStr = SecretStr("embedded-unsubscribe-secret-change-me")

    # E-mail: "folder" writes each message as an .eml file into EMAIL_FOLDER (the embedded
    # default); "smtp" sends through SMTP_HOST with aiosmtplib.
    EMAIL_BACKEND: Literal["folder", "smtp"] = "folder"
    EMAIL_FOLDER: str = "data/mail"
    EMAIL_FROM: str = "Poverty review platform <no-reply@poverty-review.local>"
    SMTP_HOST: str = "localhost"
    SMTP_PORT: int = Field(default=25, ge=1, le=65535)
    # "starttls" upgrades a plain connection (port 587), "tls" starts in TLS (port 465), "none"
    # for a local catcher only.
    SMTP_SECURITY: Literal["none", "starttls", "tls"] = "starttls"
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0)
    # CA certificates (PEM) to trust for the SMTP server's TLS besides the system's: a ministry's
    # own mail server with an internal CA.
    SMTP_CA_FILE: str | None = None

    # Webhooks. Networks (CIDR) an admin allows although private or loopback, e.g.
    # ["10.20.0.0/16"]; empty: only public addresses are reached.
    WEBHOOK_ALLOWED_NETWORKS: list[str] = Field(default_factory=list)
    WEBHOOK_CONNECT_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)
    WEBHOOK_READ_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0)
    WEBHOOK_MAX_RESPONSE_BYTES: int = Field(default=64 * 1024, ge=0)
    # A connection to a receiver is kept open this long after an answer for the next delivery
    # to it; below the receivers' own keep-alive time (uvicorn 5 s, nginx 75 s).
    WEBHOOK_KEEPALIVE_SECONDS: float = Field(default=4.0, ge=0)
    # Retries: exponential from WEBHOOK_RETRY_INITIAL_SECONDS, doubled each time, with jitter,
    # capped at WEBHOOK_RETRY_MAX_SECONDS; 10 attempts span about four and a half hours.
    WEBHOOK_MAX_ATTEMPTS: int = Field(default=10, ge=1)
    WEBHOOK_RETRY_INITIAL_SECONDS: float = Field(default=30.0, ge=0)
    WEBHOOK_RETRY_MAX_SECONDS: float = Field(default=3 * 3600.0, ge=0)
    # A webhook whose deliveries failed (all their attempts) this many times in a row is
    # disabled, and its owner told in the inbox.
    WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES: int = Field(default=3, ge=1)
    # After a rotation the previous secret still signs (a second signature) this long.
    WEBHOOK_SECRET_OVERLAP_HOURS: float = Field(default=24.0, ge=0)

    # The delivery worker: how many deliveries are in flight at once, how long a claim holds
    # before another worker may take the delivery over, how often it looks for due ones.
    DELIVERY_CONCURRENCY: int = Field(default=64, ge=1)
    # Of which at most this many to one subscription's endpoint: a receiver that hangs holds
    # these slots only.
    DELIVERY_CONCURRENCY_PER_ENDPOINT: int = Field(default=8, ge=1)
    DELIVERY_LEASE_SECONDS: float = Field(default=120.0, gt=0)
    DELIVERY_POLL_SECONDS: float = Field(default=1.0, gt=0)
    # Daily digests are sent after this hour, Vietnam time, for the days before.
    DIGEST_HOUR: int = Field(default=7, ge=0, le=23)
    REMINDER_POLL_SECONDS: float = Field(default=300.0, gt=0)
    # How often the workers look at the bus's dead-letter queues (`deadletter.message`).
    DEAD_LETTER_POLL_SECONDS: float = Field(default=60.0, gt=0)
