from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "indicators"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/indicators.db"
    RECALCULATION_POLL_SECONDS: float = 1.0
    RECALCULATION_BATCH_SIZE: int = 2000
