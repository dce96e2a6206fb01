from pydantic import Field, SecretStr

from kit.settings import ServiceSettings


class Settings(ServiceSettings):
    SERVICE_NAME: str = "indicators"
    DATABASE_URL: str = "sqlite+aiosqlite:///data/indicators.db"
    RECALCULATION_POLL_SECONDS: float = 1.0
    RECALCULATION_BATCH_SIZE: int = 2000
    # A running job's worker renews its lease with every batch (well under a second each); one
    # silent for this long is taken to have died, and another worker restarts the job.
    RECALCULATION_LEASE_SECONDS: float = Field(default=120.0, gt=0)
    # Cell-key perturbation for roles that see aggregates only: the secret under which each
    # household's record key is derived. The default is public: set your own in production, once
    # (changing it re-keys every cell; run a recalculation of each round afterwards).
    DISCLOSURE_KEY_SECRET: SecretStr = SecretStr("vn-poverty-platform: set your own in production")
    # Where the households service answers: reconciliation reads its ledger of a round there.
    HOUSEHOLDS_URL: str = "http://localhost:8001"
    # Re-publishing a large round is staged in one request: give it time.
    HOUSEHOLDS_TIMEOUT_SECONDS: float = Field(default=120.0, gt=0)
    # How often a worker checks every target against the figures (docs/targets.md): a target
    # going off track or reached is announced within this time of the figures changing.
    TARGETS_CHECK_SECONDS: float = Field(default=60.0, gt=0)
    # Left-behind lists (docs/digital-inclusion.md): None lists the information-deprived
    # households with no support since their survey; a number of days lists, besides, those whose
    # last support is older than that (a query parameter of the list may ask either).
    LEFT_BEHIND_WITHIN_DAYS: int | None = Field(default=None, ge=1, le=3650)
    # How often a worker moves households onto the list whose days without support have run out.
    LEFT_BEHIND_CHECK_SECONDS: float = Field(default=3600.0, gt=0)
