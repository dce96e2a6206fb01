from pydantic import Field

from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "households"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/households.db"
    # Standards a review round may name. The indicators service owns their definitions; a new
    # standard is added there first, then listed here.
    POVERTY_STANDARDS: list[str] = Field(default=["VN-2022-2025", "VN-2027-2030"])
