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
