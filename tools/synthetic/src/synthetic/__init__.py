"""A synthetic province for demos, load tests and bulk-import files.

Deterministic from a seed, from a thousand to a million households spread over a province's real
communes, each with a full survey; calibrated so that under `VN-2022-2025` about 1% of households
are poor and 1.7% near-poor (see `calibration`).

    communes = await province_communes(session, "26")          # or [("08707", True), ...]
    for item in generate(communes, households=10_000, seed=7):  # streaming
        item.household, item.assessment                          # HouseholdCreate, AssessmentInput
    populations(communes, households=10_000, seed=7)             # PopulationRow per commune
    write_province(communes, Path("data/synthetic"), households=10_000, seed=7)

or from the shell: `python -m synthetic --province 26 --households 10000 --seed 7`.
"""

from synthetic.calibration import CALIBRATION, Calibration
from synthetic.communes import province_communes
from synthetic.events import assessment_recorded
from synthetic.files import (
    HOUSEHOLDS_FILE,
    POPULATIONS_FILE,
    PopulationTally,
    read_households,
    write_households,
    write_populations,
)
from synthetic.generator import (
    DEFAULT_SEED,
    REFERENCE_DATE,
    Commune,
    SyntheticHousehold,
    generate,
    populations,
)
from synthetic.province import ProvinceFiles, write_province

__all__ = [
    "CALIBRATION",
    "DEFAULT_SEED",
    "HOUSEHOLDS_FILE",
    "POPULATIONS_FILE",
    "REFERENCE_DATE",
    "Calibration",
    "Commune",
    "PopulationTally",
    "ProvinceFiles",
    "SyntheticHousehold",
    "assessment_recorded",
    "generate",
    "populations",
    "province_communes",
    "read_households",
    "write_households",
    "write_populations",
    "write_province",
]
