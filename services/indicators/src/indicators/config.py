from pydantic import Field

from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "indicators"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/indicators.db"
    RECALCULATION_POLL_SECONDS: float = 1.0
    RECALCULATION_BATCH_SIZE: int = 2000
    # Small-cell suppression for roles that see aggregates only: counts from 1 to k - 1 withheld.
    DISCLOSURE_MIN_COUNT: int = Field(default=5, ge=1)
