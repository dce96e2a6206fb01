"""Gateway settings: where the services are and how long to wait for them."""

from pydantic import Field

from kit.settings import AppSettings


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

    def upstream_urls(self) -> dict[str, str]:
        """Base URL of every upstream, keyed by the names the routing table uses."""
        return {
            "households": self.HOUSEHOLDS_URL,
            "indicators": self.INDICATORS_URL,
            "notifications": self.NOTIFICATIONS_URL,
        }
