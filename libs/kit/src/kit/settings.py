"""Settings shared by every service; each service subclasses `ServiceSettings`.

The same names configure the embedded default and the distributed deployment, so an operator reads
one table of environment variables (docs/configuration.md) whatever way the platform runs.
"""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AppSettings(BaseSettings):
    """What every process has: a name and logging (the gateway needs no more)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    SERVICE_NAME: str
    ENVIRONMENT: Literal["local", "test", "production"] = "local"
    LOG_LEVEL: str = "INFO"
    LOG_JSON: bool = True

    # Access tokens: who signs them (the gateway) and for whom; both are checked on every token.
    AUTH_ISSUER: str = "vn-poverty-gateway"
    AUTH_AUDIENCE: str = "vn-poverty-api"
    # How often each process reloads the recent changes of access (`kit.auth.revocations`): a
    # deactivated user's or revoked key's tokens are refused everywhere within about this long.
    AUTH_NOT_BEFORE_POLL_SECONDS: float = Field(default=2.0, gt=0)

    # The operations listener (`kit.ops`: /metrics, /health/live, /health/ready) of a process that
    # serves no HTTP of its own (relays, workers, the importer), and the gateway's, whose public
    # port does not show its metrics. Off when unset (the embedded run, tests).
    METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)
    METRICS_HOST: str = "127.0.0.1"
    # How often the gauges that need a query are sampled (outbox backlog, queue depths, jobs).
    METRICS_SAMPLE_SECONDS: float = Field(default=5.0, gt=0)


class ServiceSettings(AppSettings):
    """A service: its own database and the message bus."""

    DATABASE_URL: str
    # "inprocess" only makes sense when every app shares one process (the embedded runner).
    MESSAGE_BUS: Literal["rabbitmq", "inprocess"] = "rabbitmq"
    RABBITMQ_URL: str = "amqp://guest:guest@localhost:5672/"
    PUBLISH_TIMEOUT_SECONDS: float = Field(default=5.0, gt=0)

    RELAY_BATCH_SIZE: int = Field(default=200, ge=1)
    RELAY_POLL_SECONDS: float = Field(default=0.2, gt=0)
    # A worker holds up to CONSUMER_PREFETCH unacknowledged messages and handles what is ready
    # in one transaction of up to CONSUMER_BATCH_SIZE, waiting at most CONSUMER_BATCH_WAIT_SECONDS
    # for a batch to fill.
    CONSUMER_PREFETCH: int = Field(default=400, ge=1)
    CONSUMER_BATCH_SIZE: int = Field(default=200, ge=1)
    CONSUMER_BATCH_WAIT_SECONDS: float = Field(default=0.005, ge=0)

    # The gateway's public signing keys; refetched at least this often, so that a revoked key
    # stops being accepted within that time.
    AUTH_JWKS_URL: str = "http://localhost:8000/.well-known/jwks.json"
    AUTH_JWKS_CACHE_SECONDS: float = Field(default=60.0, ge=0)
