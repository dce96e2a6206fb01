from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "notifications"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/notifications.db"
