from pydantic import Field

from kit.contracts.households import Area
from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "households"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/households.db"
    # Standards a review round may name. The indicators service owns their definitions; a new
    # standard is added there first, then listed here.
    POVERTY_STANDARDS: list[str] = Field(default=["VN-2022-2025", "VN-2027-2030"])
    # Urban or rural for the đặc khu (island special zones, commune level since July 2025), which
    # the phường-urban / xã-rural rule does not cover. Rural by default: their predecessors were
    # overwhelmingly xã. Applied to the units by `python -m households.migrate`.
    SPECIAL_ZONE_AREA: Area = Area.rural
    # The share of a village meeting's attendees that must agree with a household's result, else
    # the household is surveyed again (docs/review-round.md); the decree on the review sets it.
    REVIEW_MIN_AGREEMENT_PERCENT: int = Field(default=50, ge=1, le=100)

    # Bulk imports (docs/bulk-import.md). Uploads are kept here until their job has finished; the
    # API that receives them and the runner that imports them (`python -m households.importer`)
    # must see the same directory.
    IMPORT_DIR: str = "data/imports"
    IMPORT_BATCH_SIZE: int = Field(default=1000, ge=1, le=20_000)
    IMPORT_POLL_SECONDS: float = Field(default=1.0, gt=0)
    # A running job whose runner has not committed a batch for this long is taken over.
    IMPORT_LEASE_SECONDS: float = Field(default=60.0, gt=0)
    # What an upload may expand to (households.imports.limits): enough for a province's file.
    IMPORT_MAX_BYTES: int = Field(default=4 << 30, ge=1)  # decompressed
    IMPORT_MAX_COMPRESSION_RATIO: int = Field(default=100, ge=1)
    IMPORT_MAX_LINE_BYTES: int = Field(default=1 << 20, ge=1024)
    IMPORT_MAX_ROWS: int = Field(default=10_000_000, ge=1)
    IMPORT_MAX_CELLS: int = Field(default=40_000_000, ge=1)
    IMPORT_MAX_SHARED_STRINGS: int = Field(default=4_000_000, ge=0)
    IMPORT_MAX_XLSX_PART_BYTES: int = Field(default=256 << 20, ge=1)
